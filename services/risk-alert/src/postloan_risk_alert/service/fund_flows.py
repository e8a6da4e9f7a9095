"""Fund flows in: validate a batch against the loans, store it whole or refuse it whole (issue 15)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import FundMovedV1
from postloan_risk_alert.domain import fund_use
from postloan_risk_alert.service.fund_use import after_ingest, loans_of
from postloan_risk_alert.store import fund_flows as store

# Rows per INSERT: 13 columns each stay well under PostgreSQL's 32,767 bind parameters.
_CHUNK = 2000


@dataclass(frozen=True)
class FlowRefusal:
    """Why one flow of a batch is refused: 404 unknown loan, 409 other content, 422 invalid for its loan."""

    index: int
    flow_id: str
    status: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "flow_id": self.flow_id, "status": self.status, "reason": self.reason}


@dataclass(frozen=True)
class Ingested:
    created: int
    unchanged: int
    refusals: tuple[FlowRefusal, ...] = ()


class FlowConflict(Exception):
    """A flow id was stored with other content by a concurrent request after the check."""


def flow_row(flow: FundMovedV1) -> dict[str, Any]:
    """The flow's row, its content hash included."""
    party = flow.counterparty
    row = {
        "flow_id": flow.flow_id,
        "loan_id": flow.loan_id,
        "occurred_on": flow.occurred_on,
        "direction": flow.direction.value,
        "amount": flow.amount,
        "currency": flow.currency,
        "counterparty_name": party.name,
        "counterparty_account": party.account,
        "counterparty_bank": party.bank,
        "counterparty_kind": party.kind.value,
        "category": flow.category,
        "channel": flow.channel,
    }
    row["content_hash"] = fund_use.row_fingerprint(row)
    return row


async def _check(
    session: AsyncSession, flows: Sequence[FundMovedV1], loans: Mapping[str, Mapping[str, Any]]
) -> tuple[list[dict[str, Any]], int, list[FlowRefusal]]:
    """The rows to insert, how many flows are retries, and the refusals."""
    stored = await store.flow_hashes(session, {f.flow_id for f in flows})
    rows: list[dict[str, Any]] = []
    refusals: list[FlowRefusal] = []
    unchanged = 0
    for index, flow in enumerate(flows):
        row = flow_row(flow)
        digest = row["content_hash"]
        terms = loans.get(flow.loan_id)
        if terms is None:
            refusals.append(FlowRefusal(index, flow.flow_id, 404, f"unknown loan {flow.loan_id}"))
            continue
        loan = fund_use.LoanTerms(currency=terms["currency"], disbursed_on=terms["disbursed_on"])
        reason = fund_use.flow_refusal(currency=flow.currency, occurred_on=flow.occurred_on, loan=loan)
        if reason is not None:
            refusals.append(FlowRefusal(index, flow.flow_id, 422, reason))
        elif flow.flow_id in stored:
            if stored[flow.flow_id] != digest:
                refusals.append(
                    FlowRefusal(index, flow.flow_id, 409, f"flow {flow.flow_id} exists with different content")
                )
            else:
                unchanged += 1
        else:
            stored[flow.flow_id] = digest  # a second copy in the same batch is a retry of the first
            rows.append(row)
    return rows, unchanged, refusals


async def ingest_flows(session: AsyncSession, *, flows: Sequence[FundMovedV1]) -> Ingested:
    """Store the new flows of a batch and add them to the totals; any refusal refuses the whole batch."""
    # One read of the batch's loans: the checks and the flag evaluation both use it.
    loans = await loans_of(session, loan_ids={f.loan_id for f in flows})
    rows, unchanged, refusals = await _check(session, flows, loans)
    if refusals:
        return Ingested(0, 0, tuple(refusals))
    created = 0
    stored: list[dict[str, Any]] = []
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        inserted = await store.insert_flows(session, chunk)
        created += len(inserted)
        stored.extend(r for r in chunk if r["flow_id"] in inserted)
        late = {r["flow_id"]: r["content_hash"] for r in chunk if r["flow_id"] not in inserted}
        if late:
            hashes = await store.flow_hashes(session, late)
            if any(hashes.get(k) != v for k, v in late.items()):
                raise FlowConflict(f"flow(s) {', '.join(sorted(late))} stored concurrently with other content")
            unchanged += len(late)
    await after_ingest(session, rows=stored, loans=loans)
    return Ingested(created, unchanged)

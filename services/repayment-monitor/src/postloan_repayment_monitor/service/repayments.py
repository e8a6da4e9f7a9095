"""Posting and reversing repayments: idempotent, validated, replayed, announced."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import (
    Allocation,
    Bucket,
    LoanClosedV1,
    PaymentReceivedV1,
    PaymentReversedV1,
)
from postloan_common.db import driver_connection
from postloan_repayment_monitor.domain.incremental import applies_in_order, apply_in_order, posting_outcome
from postloan_repayment_monitor.domain.ledger import Ledger, Payment, fixed_by
from postloan_repayment_monitor.domain.money import cents
from postloan_repayment_monitor.domain.posting import LoanTerms, Rejection, posting_refusal
from postloan_repayment_monitor.domain.recovery import RECOVERED, is_recovery, repayment_status
from postloan_repayment_monitor.domain.refusal import Refusal
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.service.bucket_moves import announce_bucket_move
from postloan_repayment_monitor.service.events import EventBuffer
from postloan_repayment_monitor.service.ledgers import LoanFile, lock_loans, persist, totals
from postloan_repayment_monitor.service.recoveries import record_recovery
from postloan_repayment_monitor.store import repayments as store


@dataclass(frozen=True)
class PostRepayment:
    repayment_id: str
    loan_id: str
    amount: Decimal
    value_date: date
    channel: str
    currency: str | None = None

    def request_hash(self) -> str:
        """Fingerprint of the request, to tell a retry from a different payment under the same id."""
        body = [
            self.repayment_id,
            self.loan_id,
            str(cents(self.amount)),
            self.value_date.isoformat(),
            self.channel,
            self.currency,
        ]
        # json.dumps, not orjson: the spacing is part of hashes already stored.
        return hashlib.sha256(json.dumps(body).encode()).hexdigest()


@dataclass(frozen=True)
class Posted:
    """The answer to a posting (also the answer to the same posting again)."""

    repayment_id: str
    loan_id: str
    duplicate: bool
    result: dict[str, Any]


@dataclass
class _Batch:
    business_date: date
    events: EventBuffer
    buckets: BucketScheme
    new_rows: list[dict[str, Any]] = field(default_factory=list)
    ledgers: dict[str, Ledger] = field(default_factory=dict)


async def post_repayments(
    session: AsyncSession,
    *,
    commands: Sequence[PostRepayment],
    business_date: date,
    events: EventBuffer,
    buckets: BucketScheme,
) -> list[Posted | Refusal]:
    """Post a batch of repayments in order; each loan is replayed and written once per batch."""
    files = await lock_loans(session, (c.loan_id for c in commands))
    conn = await driver_connection(session)
    known = await store.known_repayments(conn, list({c.repayment_id for c in commands}))
    batch = _Batch(business_date, events, buckets)
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    out: list[Posted | Refusal] = []
    for command in commands:
        digest = command.request_hash()
        earlier = seen.get(command.repayment_id) or (
            (known[command.repayment_id]["request_hash"], known[command.repayment_id]["result"])
            if command.repayment_id in known
            else None
        )
        if earlier is not None:
            if earlier[0] == digest:
                out.append(Posted(command.repayment_id, command.loan_id, True, earlier[1]))
            else:
                out.append(
                    Refusal(
                        Rejection.ID_REUSED,
                        f"repayment {command.repayment_id} was already posted with other details",
                    )
                )
            continue
        file = files.get(command.loan_id)
        rejection = _check(command, file, business_date)
        if rejection is not None:
            out.append(rejection)
            continue
        assert file is not None
        if is_recovery(file.status):
            result = record_recovery(batch.events, file, command, on=batch.business_date)
        else:
            result = _apply(batch, file, command)
        seen[command.repayment_id] = (digest, result)
        batch.new_rows.append(
            {
                "repayment_id": command.repayment_id,
                "loan_id": command.loan_id,
                "amount": command.amount,
                "currency": file.row.currency,
                "value_date": command.value_date,
                "channel": command.channel,
                "posted_on": business_date,
                "request_hash": digest,
                "status": repayment_status(file.status),
                "result": result,
            }
        )
        out.append(Posted(command.repayment_id, command.loan_id, False, result))
    if batch.new_rows:
        await store.copy_new_repayments(conn, batch.new_rows)
        await persist(session, files.values(), batch.ledgers)
    return out


def _check(command: PostRepayment, file: LoanFile | None, business_date: date) -> Refusal | None:
    return posting_refusal(
        _terms(file),
        loan_id=command.loan_id,
        amount=command.amount,
        currency=command.currency,
        value_date=command.value_date,
        business_date=business_date,
    )


def _terms(file: LoanFile | None) -> LoanTerms | None:
    if file is None:
        return None
    latest = file.restructurings[-1] if file.restructurings else None
    return LoanTerms(
        loan_id=file.loan_id,
        status=file.status,
        currency=file.row.currency,
        disbursed_on=file.row.disbursed_on,
        restructured=(latest.restructure_id, latest.restructured_on) if latest else None,
    )


def _apply(batch: _Batch, file: LoanFile, command: PostRepayment) -> dict[str, Any]:
    previous = batch.ledgers.get(file.loan_id)
    before_dpd = previous.dpd if previous is not None else file.stored_dpd(batch.business_date)
    order = max((p.order for p in file.payments), default=0) + 1
    payment = Payment(command.repayment_id, command.amount, command.value_date, order)
    # In value-date order (the common case) onto the stored state; otherwise the whole ledger replays.
    base = previous if previous is not None else file.stored(batch.business_date)
    if applies_in_order(base, payment, earlier=file.payments, restructurings=file.restructurings):
        after = apply_in_order(base, payment, rules=file.rules, as_of=batch.business_date)
        file.payments.append(payment)
    else:
        file.payments.append(payment)
        after = file.replay(batch.business_date)
    batch.ledgers[file.loan_id] = after
    outcome = posting_outcome(after, command.repayment_id, buckets=batch.buckets)
    # Not validated again: every field is a checked command field, a stored loan field or a figure of
    # the posting (two-place, non-negative Decimals, DPD ≥ 0, a bucket of the scheme).
    batch.events.add(
        PaymentReceivedV1.model_construct(
            loan_id=file.loan_id,
            customer_id=file.row.customer_id,
            repayment_id=command.repayment_id,
            amount=command.amount,
            currency=file.row.currency,
            value_date=command.value_date,
            allocation=Allocation.model_construct(None, **outcome.allocation),
            outstanding_after=outcome.outstanding,
            overdue_after=outcome.overdue,
            dpd_after=outcome.dpd,
            bucket_after=Bucket(outcome.bucket),
        ),
        loan_id=file.loan_id,
    )
    _announce_changes(batch, file, before_dpd, after, outcome.dpd, outcome.outstanding, outcome.overdue)
    return {
        "repayment_id": command.repayment_id,
        "loan_id": file.loan_id,
        "amount": str(command.amount),
        "value_date": command.value_date.isoformat(),
        "posted_on": batch.business_date.isoformat(),
        "allocation": {k: str(v) for k, v in outcome.allocation.items()},
        "lines": [{"seq": line.seq, "component": line.component, "amount": str(line.amount)} for line in outcome.lines],
        "outstanding_after": str(outcome.outstanding),
        "overdue_after": str(outcome.overdue),
        "dpd_after": outcome.dpd,
        "bucket_after": outcome.bucket,
        "loan_status": file.status,
    }


def _announce_changes(
    batch: _Batch,
    file: LoanFile,
    before_dpd: int,
    after: Ledger,
    dpd: int,
    outstanding: Decimal,
    overdue: Decimal,
) -> None:
    """Delinquency, cure and closing events for the move from `before_dpd` to the `after` ledger."""
    announce_bucket_move(
        batch.events,
        file,
        bucket=batch.buckets.bucket_of(dpd),
        on=batch.business_date,
        previous_dpd=before_dpd,
        dpd=dpd,
        outstanding=outstanding,
        overdue=overdue,
    )
    if after.is_paid_off and file.status == "active":
        file.status, file.closed_on = "closed", batch.business_date
        early = any(i.due_date > batch.business_date for i in after.installments)
        batch.events.add(
            LoanClosedV1(
                loan_id=file.loan_id,
                customer_id=file.row.customer_id,
                closed_on=batch.business_date,
                reason="prepaid" if early else "paid_off",
                credit_balance=after.credit_balance,
            ),
            loan_id=file.loan_id,
        )
    elif not after.is_paid_off and file.status == "closed":
        file.status, file.closed_on = "active", None  # a reversal reopened it


async def reverse_repayment(
    session: AsyncSession,
    *,
    repayment_id: str,
    reason: str,
    business_date: date,
    events: EventBuffer,
    buckets: BucketScheme,
) -> Posted | Refusal:
    """Reverse a posted repayment; the loan is replayed as if it had never been made."""
    loan_id = await store.loan_of_repayment(session, repayment_id=repayment_id)
    if loan_id is None:
        return Refusal(Rejection.UNKNOWN_REPAYMENT, f"repayment {repayment_id} is not known")
    files = await lock_loans(session, [loan_id])
    file = files[loan_id]
    current = await store.repayment(session, repayment_id=repayment_id)
    if current.status == "reversed":
        return Posted(repayment_id, loan_id, True, current.reversal_result)
    if current.status == RECOVERED:
        return Refusal(
            Rejection.LOAN_CLOSED, f"repayment {repayment_id} is a recovery on the written-off loan {loan_id}"
        )
    before_dpd = file.stored_dpd(business_date)
    payment = next(p for p in file.payments if p.repayment_id == repayment_id)
    file.payments = [p for p in file.payments if p.repayment_id != repayment_id]
    if file.status == "written_off":
        return Refusal(Rejection.LOAN_CLOSED, f"loan {loan_id} is written off")
    restructuring = fixed_by(payment, file.restructurings)
    if restructuring is not None:
        return Refusal(
            Rejection.PRECEDES_RESTRUCTURING,
            f"repayment {repayment_id} precedes the loan's restructuring {restructuring.restructure_id} "
            f"on {restructuring.restructured_on}, which took it into account",
        )
    after = file.replay(business_date)
    batch = _Batch(business_date, events, buckets, ledgers={file.loan_id: after})
    outstanding, overdue = totals(after)
    dpd = after.dpd
    bucket = buckets.bucket_of(dpd)
    events.add(
        PaymentReversedV1(
            loan_id=file.loan_id,
            customer_id=file.row.customer_id,
            repayment_id=repayment_id,
            amount=current.amount,
            currency=current.currency,
            value_date=current.value_date,
            reversed_on=business_date,
            reason=reason,
            outstanding_after=outstanding,
            overdue_after=overdue,
            dpd_after=dpd,
            bucket_after=bucket,
        ),
        loan_id=file.loan_id,
    )
    _announce_changes(batch, file, before_dpd, after, dpd, outstanding, overdue)
    result = {
        "repayment_id": repayment_id,
        "loan_id": file.loan_id,
        "status": "reversed",
        "reversed_on": business_date.isoformat(),
        "reason": reason,
        "outstanding_after": str(outstanding),
        "overdue_after": str(overdue),
        "dpd_after": after.dpd,
        "bucket_after": bucket,
        "loan_status": file.status,
    }
    await store.mark_reversed(session, repayment_id=repayment_id, on=business_date, reason=reason, result=result)
    await persist(session, [file], batch.ledgers)
    return Posted(repayment_id, file.loan_id, False, result)

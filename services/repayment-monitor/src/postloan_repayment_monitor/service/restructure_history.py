"""The restructuring history of loaded loans: what their replays need besides the schedule in force."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from postloan_repayment_monitor.domain.ledger import Restructuring, Scheduled
from postloan_repayment_monitor.store import ledgers as store

if TYPE_CHECKING:
    from postloan_repayment_monitor.service.ledgers import LoanFile


async def add_restructurings(conn: Any, files: Mapping[str, LoanFile]) -> None:
    """Give each restructured loan its original schedule, its restructurings and its original penalty rate."""
    restructured = [loan_id for loan_id, file in files.items() if file.row.restructured_on is not None]
    if not restructured:
        return
    replaced: dict[str, list[Scheduled]] = defaultdict(list)
    for r in await store.replaced_installment_rows(conn, restructured):
        replaced[r[0]].append(Scheduled(r[1], r[2], r[3], r[4], r[5]))
    history: dict[str, list[Any]] = defaultdict(list)
    for r in await store.restructuring_rows(conn, restructured):
        history[r["loan_id"]].append(r)
    for loan_id in restructured:
        file, rows = files[loan_id], history[loan_id]
        by_seq = {s.seq: s for s in [*file.schedule, *replaced[loan_id]]}
        file.schedule = sorted((s for seq, s in by_seq.items() if seq < rows[0]["first_seq"]), key=lambda s: s.seq)
        file.restructurings = tuple(
            Restructuring(
                restructure_id=row["restructure_id"],
                restructured_on=row["restructured_on"],
                installments=tuple(
                    by_seq[seq] for seq in range(row["first_seq"], row["first_seq"] + row["installment_count"])
                ),
                outstanding_principal=row["outstanding_principal"],
                annual_rate=row["annual_rate"],
                penalty_rate=row["penalty_rate"],
                after_order=row["after_posting_seq"],
            )
            for row in rows
        )
        file.rules = replace(file.rules, penalty_annual_rate=rows[0]["replaced_penalty_rate"])

"""Postings in value-date order take the incremental path and leave exactly the replay's state stored.

The loan of test_scenario.py; after every posting the stored state (installments, loan row,
allocations) is read back and compared with a full replay of the loan as of the business date.
"""

from __future__ import annotations

from datetime import date

import pytest
from rm_testkit import LOAN

from postloan_common.db import create_engine, session_factory
from postloan_repayment_monitor.domain.incremental import posting_outcome
from postloan_repayment_monitor.domain.ledger import Ledger
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.service import ledgers
from postloan_repayment_monitor.service.ledgers import LoanFile, load_loans

pytestmark = pytest.mark.integration

# (business date, repayment id, amount, value date, replayed?): late, partial, same day, back-valued, payoff.
POSTINGS = [
    ("2026-02-10", "R1", "700.00", "2026-02-10", False),
    ("2026-03-12", "R2", "500.00", "2026-03-12", False),
    ("2026-03-12", "R3", "20.00", "2026-03-12", False),
    ("2026-03-20", "R4", "100.00", "2026-03-15", False),
    ("2026-03-20", "R5", "50.00", "2026-03-14", True),
    ("2026-03-25", "R6", "3000.00", "2026-03-25", False),
]


def _view(ledger: Ledger, row: tuple[object, ...]) -> tuple[object, ...]:
    installments = [(i.seq, dict(i.paid), i.penalty, i.accrued_through, i.settled_on) for i in ledger.installments]
    allocations = {rid: sorted(map(repr, lines)) for rid, lines in ledger.allocations.items()}
    return installments, allocations, row, ledger.dpd


def _state(file: LoanFile, as_of: date) -> tuple[object, ...]:
    row = (file.row.oldest_unpaid_due, file.row.bucket, file.row.outstanding_principal, file.row.credit_balance)
    return _view(file.stored(as_of), row)


def _replayed(file: LoanFile, as_of: date) -> tuple[object, ...]:
    ledger = file.replay(as_of)
    row = (
        ledger.oldest_unpaid_due,
        BucketScheme().bucket_of(ledger.dpd),
        ledger.open_principal(),
        ledger.credit_balance,
    )
    return _view(ledger, row)


async def test_in_order_postings_store_the_replays_state(rm_api, token, monkeypatch: pytest.MonkeyPatch) -> None:
    replays: list[str] = []
    original = LoanFile.replay

    def counting(self: LoanFile, as_of: date):  # type: ignore[no-untyped-def]
        replays.append(self.loan_id)
        return original(self, as_of)

    monkeypatch.setattr(ledgers.LoanFile, "replay", counting)
    h = token("system")
    async with rm_api("2026-01-05") as (client, url):
        assert (await client.post("/v1/loans", json=LOAN, headers=h)).status_code == 201
        engine = create_engine(url)
        sessions = session_factory(engine)
        try:
            for business, rid, amount, value_date, replayed in POSTINGS:
                moved = await client.post("/v1/calendar/advance", json={"to": business}, headers=h)
                assert moved.status_code == 200, moved.text
                replays.clear()
                body = {"repayment_id": rid, "amount": amount, "value_date": value_date, "channel": "bank-transfer"}
                posted = await client.post("/v1/loans/L-1001/repayments", json=body, headers=h)
                assert posted.status_code == 201, posted.text
                assert bool(replays) is replayed, rid
                as_of = date.fromisoformat(business)
                async with sessions.begin() as session:
                    file = (await load_loans(session, ["L-1001"]))["L-1001"]
                    stored, expected = _state(file, as_of), original(file, as_of)
                    assert stored == _replayed(file, as_of), rid
                    outcome = posting_outcome(expected, rid, buckets=BucketScheme())
                    assert posted.json()["dpd_after"] == outcome.dpd
                    assert posted.json()["outstanding_after"] == str(outcome.outstanding)
            assert posted.json()["loan_status"] == "closed"
        finally:
            await engine.dispose()

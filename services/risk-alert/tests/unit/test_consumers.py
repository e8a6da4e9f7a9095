"""One handler per event type, exercised with a fake projection store (no database)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from postloan_common.messaging.consumer import PermanentError
from postloan_common.messaging.envelope import Envelope
from postloan_risk_alert.consumers import Folding, PromiseFold, on_closed


class FakeStore:
    """Projection rows in a dict; records what the handler saved."""

    def __init__(self, rows: dict[str, dict[str, Any]]) -> None:
        self.rows = rows
        self.saved: set[str] = set()

    async def load(self, _session: Any, loan_ids: set[str]) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.rows.items() if k in loan_ids}

    async def save(self, _session: Any, _states: dict[str, dict[str, Any]], changed: set[str]) -> None:
        self.saved |= set(changed)


def _closed(loan_id: str, *, source: str = "repayment-monitor") -> Envelope:
    data = {"loan_id": loan_id, "customer_id": "C-1", "closed_on": "2026-05-14", "reason": "paid_off"}
    return Envelope(type="loan-closed", source=source, subject=loan_id, data=data)


def _row() -> dict[str, Any]:
    return {"status": "active", "outstanding": Decimal(100), "overdue": Decimal(0), "episode_started_on": None}


async def test_folding_applies_the_fold_marks_dirty_and_saves_only_the_changed_loans() -> None:
    store = FakeStore({"L-1": _row(), "L-2": _row()})
    handler = Folding(on_closed, load=store.load, save=store.save)
    await handler(None, [_closed("L-1")])  # type: ignore[arg-type]
    assert store.saved == {"L-1"}
    assert store.rows["L-1"]["status"] == "closed" and store.rows["L-1"]["dirty"] is True
    assert store.rows["L-2"]["status"] == "active"


async def test_folding_dead_letters_a_repayment_event_for_an_unknown_loan() -> None:
    store = FakeStore({})
    with pytest.raises(PermanentError, match="unknown loan L-9"):
        await Folding(on_closed, load=store.load, save=store.save)(None, [_closed("L-9")])  # type: ignore[arg-type]


async def test_promise_fold_counts_the_kind_it_was_made_for() -> None:
    state: dict[str, Any] = {"broken_promises": 0, "promises_kept": 0}
    PromiseFold("broken")(state, None, None)  # type: ignore[arg-type]
    assert state["broken_promises"] == 1

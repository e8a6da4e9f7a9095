"""Events built without re-validation carry exactly what the validating path would."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from postloan_common.contracts import Allocation, Bucket, PaymentReceivedV1, make_envelope, parse_data
from postloan_common.messaging.envelope import Envelope
from postloan_repayment_monitor.service.events import SOURCE, envelope_of

FIELDS = {
    "loan_id": "L-1001",
    "customer_id": "C-77",
    "repayment_id": "R1",
    "amount": D("1030.00"),
    "currency": "CNY",
    "value_date": date(2026, 2, 5),
    "outstanding_after": D("2030.00"),
    "overdue_after": D("0.00"),
    "dpd_after": 0,
    "bucket_after": Bucket.M0,
}
PARTS = {"penalty": D("0.00"), "fee": D("0.00"), "interest": D("30.00"), "principal": D("1000.00"), "credit": D("0")}


def _comparable(envelope: Envelope) -> dict[str, object]:
    return envelope.model_dump(mode="json", exclude={"id", "time"})


@pytest.mark.filterwarnings("error")
def test_an_unvalidated_payment_received_serialises_as_the_validated_one() -> None:
    checked = PaymentReceivedV1(**FIELDS, allocation=Allocation(**PARTS))
    built = PaymentReceivedV1.model_construct(**FIELDS, allocation=Allocation.model_construct(None, **PARTS))
    assert built.model_dump(mode="json") == checked.model_dump(mode="json")
    ours = envelope_of(built, subject="L-1001", business_date=date(2026, 2, 5), correlation_id="c", causation_id=None)
    theirs = make_envelope(
        data=checked, source=SOURCE, subject="L-1001", business_date=date(2026, 2, 5), correlation_id="c"
    )
    assert _comparable(ours) == _comparable(theirs)
    # What the relay publishes parses back as the contract.
    parsed = Envelope.from_bytes(ours.to_bytes())
    assert parsed.time.tzinfo is not None and parsed.id != theirs.id
    assert parse_data(parsed) == checked


def test_an_over_long_correlation_id_goes_through_the_validating_path() -> None:
    data = PaymentReceivedV1(**FIELDS, allocation=Allocation(**PARTS))
    with pytest.raises(ValueError, match="200"):
        envelope_of(data, subject="L-1001", business_date=date(2026, 2, 5), correlation_id="x" * 201, causation_id=None)

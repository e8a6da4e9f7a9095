"""Fineract-shaped records for tests, encoded with fastavro from the connector's schema store.

They are what Fineract's producer writes (single-object MessageV1 around a single-object payload),
built from the real 1.9.0, 1.10.1, 1.12.1 and 1.13.0 schemas; tests of the connector and the e2e suite use them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any

from postloan_fineract_connector.domain.avro import SchemaStore, encode
from postloan_fineract_connector.store.schemas import load_store

NS = "org.apache.fineract.avro"
LOAN = f"{NS}.loan.v1.LoanAccountDataV1"
TXN = f"{NS}.loan.v1.LoanTransactionDataV1"
ADJUST = f"{NS}.loan.v1.LoanTransactionAdjustmentDataV1"
CLIENT = f"{NS}.client.v1.ClientDataV1"
BULK = f"{NS}.BulkMessagePayloadV1"
CNY = {"code": "CNY", "name": "Yuan", "decimalPlaces": 2, "inMultiplesOf": 1}


def loan_account(loan: int = 7, client: int = 3, **extra: Any) -> dict[str, Any]:
    """A disbursed 3,000 CNY loan at 12 % with three monthly installments."""
    periods: list[dict[str, Any]] = [{"period": None, "dueDate": "2026-01-05", "principalDisbursed": D("3000")}]
    for n, (due, principal, interest) in enumerate(
        (("2026-02-05", "980.00", "30.00"), ("2026-03-05", "990.00", "20.00"), ("2026-04-05", "1030.00", "10.00")),
        start=1,
    ):
        periods.append(
            {
                "period": n,
                "dueDate": due,
                "complete": False,
                "principalDue": D(principal),
                "principalOutstanding": D(principal),
                "interestDue": D(interest),
                "interestOutstanding": D(interest),
                "feeChargesDue": D("0"),
            }
        )
    record = {
        "id": loan,
        "accountNo": f"{loan:09d}",
        "clientId": client,
        "clientOfficeId": 1,
        "loanProductId": 4,
        "loanPurposeName": "Working capital",
        "principal": D("3000.00"),
        "annualInterestRate": D("12"),
        "timeline": {"actualDisbursementDate": "2026-01-05"},
        "repaymentSchedule": {"currency": CNY, "periods": periods},
        "summary": {"currency": CNY, "principalOutstanding": D("3000")},
        "product": {"id": 4, "shortName": "PL12", "name": "Personal 12"},
    }
    return {**record, **extra}


def transaction(txn: int = 11, loan: int = 7, amount: str = "1010.00", code: str = "repayment", **extra: Any):
    """A loan transaction of type `code` (LoanTransactionType) on 2026-02-05."""
    return {
        "id": txn,
        "loanId": loan,
        "type": {"id": 2, "code": f"loanTransactionType.{code}", "value": code, code: True},
        "date": "2026-02-05",
        "currency": CNY,
        "amount": D(amount),
        "principalPortion": D(amount),
        "paymentDetailData": {"paymentType": {"id": 1, "name": "Money Transfer"}},
        "manuallyReversed": False,
        **extra,
    }


def client(client_id: int = 3, **extra: Any) -> dict[str, Any]:
    """An active client with a mobile number and no e-mail."""
    return {
        "id": client_id,
        "accountNo": f"{client_id:09d}",
        "externalId": f"ID-{client_id}",
        "active": True,
        "firstname": "Li",
        "lastname": "Wei",
        "displayName": "Li Wei",
        "mobileNo": "+8613800000000",
        "dateOfBirth": "1990-04-01",
        "officeId": 1,
        **extra,
    }


@dataclass
class Records:
    """Builds record values: `message(...)` single-object-encodes a MessageV1 around a payload."""

    store: SchemaStore
    loan_account = staticmethod(loan_account)
    transaction = staticmethod(transaction)
    client = staticmethod(client)
    LOAN, TXN, ADJUST, CLIENT, BULK = LOAN, TXN, ADJUST, CLIENT, BULK

    def payload(self, dataschema: str, record: dict[str, Any], release: str) -> bytes:
        return encode(self.store.schema(dataschema, release), record)

    def message(
        self,
        event_type: str,
        dataschema: str,
        record: dict[str, Any],
        *,
        release: str = "1.10.1",
        key: str | None = None,
        tenant: str = "default",
        business_date: str = "2026-02-05",
        message_id: int = 1,
        raw_data: bytes | None = None,
    ) -> bytes:
        data = raw_data if raw_data is not None else self.payload(dataschema, record, release)
        envelope = {
            "id": message_id,
            "source": str(uuid.uuid4()),  # Fineract's source changes across re-sends
            "type": event_type,
            "category": "Loan",
            "createdAt": "2026-02-05T10:15:30",
            "businessDate": business_date,
            "tenantId": tenant,
            "idempotencyKey": key or str(uuid.uuid4()),
            "dataschema": dataschema,
            "data": data,
        }
        return encode(self.store.schema(f"{NS}.MessageV1", release), envelope)

    def bulk(self, items: list[tuple[str, str, dict[str, Any]]], *, release: str = "1.10.1", **kw: Any) -> bytes:
        datas = [
            {"id": n, "type": t, "category": "Loan", "dataschema": s, "data": self.payload(s, r, release)}
            for n, (t, s, r) in enumerate(items, start=1)
        ]
        return self.message("BulkBusinessEvent", BULK, {"datas": datas}, release=release, **kw)

    @staticmethod
    def long_key(value: int) -> bytes:
        """A record key as Kafka's LongSerializer writes it."""
        return value.to_bytes(8, "big", signed=True)


def fineract_records() -> Records:
    """A record builder on the connector's schema store."""
    return Records(load_store())

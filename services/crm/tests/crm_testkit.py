"""Event factories for crm tests."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from decimal import Decimal as D

from postloan_common.contracts import (
    ClassificationChangedV1,
    CustomerUpsertedV1,
    DayClosedV1,
    DelinquencyChangedV1,
    LoanClosedV1,
    LoanCuredV1,
    LoanRegisteredV1,
    PaymentDueV1,
    PaymentMissedV1,
    PaymentReceivedV1,
    RiskScoreChangedV1,
    make_envelope,
)
from postloan_common.contracts.repayment import Allocation
from postloan_common.messaging.envelope import Envelope
from postloan_dev.devstack import free_port

ZERO = D("0.00")


def _env(data, subject: str, business_date: date | None = None, source: str = "repayment-monitor") -> Envelope:
    return make_envelope(data=data, source=source, subject=subject, business_date=business_date)


ADDRESS = {"line1": "1 Chaoyang Road", "city": "Beijing", "postal_code": "100020", "country": "CN"}


def _loan_env(
    model, lid: str, cid: str, business_date: date | None = None, *, source: str = "repayment-monitor", **data
) -> Envelope:
    """An event of `model` about loan `lid` of customer `cid`."""
    return _env(model(loan_id=lid, customer_id=cid, **data), lid, business_date, source)


def customer_body(cid: str = "C-77", **extra) -> dict:
    """Zhang San's record, as a customer-upserted event and a POST /v1/customers body both carry it."""
    return {
        "customer_id": cid,
        "name": "张三",
        "national_id": "110101199003071234",
        "phones": [{"number": "+8613800138000", "kind": "mobile"}],
        "emails": ["zhang@example.com"],
        "timezone": "Asia/Shanghai",
        "language": "zh-CN",
    } | extra


def customer(cid: str = "C-77", *, tz: str = "Asia/Shanghai", language: str = "zh-CN", **extra) -> Envelope:
    data = customer_body(cid, timezone=tz, language=language, **extra)
    return _env(CustomerUpsertedV1.model_validate(data), cid, source="core-banking")


def loan(
    lid: str = "L-1",
    cid: str = "C-77",
    *,
    on: date = date(2026, 1, 5),
    disbursed: date = date(2026, 1, 5),
    due: tuple[date, date] = (date(2026, 2, 5), date(2026, 4, 5)),
) -> Envelope:
    """A 3,000 CNY loan of three installments, registered `on`, due from the first to the last date of `due`."""
    terms = {"product": "consumer-12m", "branch": "SH01", "currency": "CNY", "installment_count": 3}
    return _loan_env(
        LoanRegisteredV1,
        lid,
        cid,
        on,
        **terms,
        principal=D("3000.00"),
        annual_rate=D("0.12"),
        disbursed_on=disbursed,
        first_due_date=due[0],
        maturity_date=due[1],
    )


def due(
    lid: str = "L-1",
    cid: str = "C-77",
    *,
    seq: int = 2,
    amount: str = "1020.00",
    days: int = 3,
    due_date: date = date(2026, 3, 5),
) -> Envelope:
    return _loan_env(
        PaymentDueV1,
        lid,
        cid,
        due_date - timedelta(days=days),
        installment_seq=seq,
        due_date=due_date,
        amount_due=D(amount),
        currency="CNY",
        days_before_due=days,
        payment_reference=f"PAY-{lid}-{seq}",
    )


def received(
    lid: str = "L-1",
    cid: str = "C-77",
    *,
    amount: str,
    value_date: date,
    rid: str = "R-1",
    dpd: int = 0,
    bucket: str = "M0",
    overdue: str = "0.00",
) -> Envelope:
    return _loan_env(
        PaymentReceivedV1,
        lid,
        cid,
        value_date,
        repayment_id=rid,
        amount=D(amount),
        currency="CNY",
        value_date=value_date,
        allocation=Allocation(penalty=ZERO, fee=ZERO, interest=ZERO, principal=D(amount), credit=ZERO),
        outstanding_after=D("1000.00"),
        overdue_after=D(overdue),
        dpd_after=dpd,
        bucket_after=bucket,
    )


def missed(
    lid: str = "L-1", cid: str = "C-77", *, dpd: int = 1, bucket: str = "M1", on: date = date(2026, 3, 6)
) -> Envelope:
    return _loan_env(
        PaymentMissedV1,
        lid,
        cid,
        on,
        installment_seq=2,
        due_date=date(2026, 3, 5),
        amount_overdue=D("1020.00"),
        currency="CNY",
        dpd=dpd,
        bucket=bucket,
    )


def moved(lid: str, cid: str, frm: str, to: str, dpd: int, on: date) -> Envelope:
    return _loan_env(
        DelinquencyChangedV1,
        lid,
        cid,
        on,
        from_bucket=frm,
        to_bucket=to,
        dpd=dpd,
        overdue_amount=D("1020.00"),
        outstanding=D("2000.00"),
        currency="CNY",
    )


def cured(lid: str, cid: str, on: date) -> Envelope:
    return _loan_env(
        LoanCuredV1,
        lid,
        cid,
        on,
        cured_on=on,
        from_bucket="M2",
        previous_dpd=40,
        outstanding=D("1000.00"),
        currency="CNY",
    )


def closed(lid: str, cid: str, on: date) -> Envelope:
    return _loan_env(LoanClosedV1, lid, cid, on, closed_on=on, reason="paid_off")


def day_closed(
    on: date, partition: int = 0, *, partitions: int = 1, loans_processed: int = 1, subject: str | None = None
) -> Envelope:
    data = DayClosedV1(
        business_date=on,
        partition=partition,
        partitions=partitions,
        loans_processed=loans_processed,
        payments_due=0,
        payments_missed=0,
        delinquency_changes=0,
    )
    return _env(data, subject or f"day-{on.isoformat()}", on)


def score(lid: str, cid: str, pd: str) -> Envelope:
    return _loan_env(
        RiskScoreChangedV1,
        lid,
        cid,
        source="risk-alert",
        score=420,
        pd=D(pd),
        grade="E",
        model_version="bhv-1",
        reason_codes=("dpd_max_3m",),
    )


def classified(lid: str, cid: str, to: str) -> Envelope:
    return _loan_env(
        ClassificationChangedV1,
        lid,
        cid,
        source="risk-alert",
        to_classification=to,
        ifrs9_stage=2,
        ecl=D("10.00"),
        dpd=35,
        reason="dpd_floor",
    )


class Provider:
    """A tiny HTTP/1.1 server standing in for an SMS/push provider; answers with scripted statuses."""

    def __init__(self, statuses: list[int] | None = None, delay_s: float = 0.0) -> None:
        self.statuses = list(statuses or [])
        self.delay_s = delay_s
        self.requests: list[dict] = []
        self.port = free_port()
        self.server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    async def __aenter__(self) -> Provider:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(
                    {"method": method, "path": path, "headers": headers, "json": json.loads(body or b"null")}
                )
                status = self.statuses.pop(0) if self.statuses else 200
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                payload = json.dumps(
                    {"id": f"msg-{len(self.requests)}"} if status < 300 else {"error": "down"}
                ).encode()
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

"""A book of loans as core banking hands it to a running platform: customers, loans, bulk intake, close of day."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from bench.live_platform import Platform, PlatformError
from postloan_common.contracts import CustomerUpsertedV1, make_envelope
from postloan_common.messaging.envelope import Envelope


def customer_event(customer_id: str, index: int) -> Envelope:
    """customer-upserted for a retail borrower with a phone and an e-mail (a third abroad, in English)."""
    abroad = index % 3 == 2
    data = CustomerUpsertedV1.model_validate(
        {
            "customer_id": customer_id,
            "name": f"Borrower {index}",
            "national_id": f"99{index:016d}",
            "phones": [{"number": f"+86138{index % 100_000_000:08d}", "kind": "mobile"}],
            "emails": [f"{customer_id.lower()}@example.com"],
            "timezone": "Europe/London" if abroad else "Asia/Shanghai",
            "language": "en" if abroad else "zh-CN",
        }
    )
    return make_envelope(data=data, source="core-banking", subject=customer_id)


def loan_line(*, loan_id: str, customer_id: str, product: str, months: int, branch: str, first_due: date) -> str:
    """One POST /v1/loans body as an NDJSON line: an annuity at 12 %, disbursed a month before its first due date."""
    principal = 1200 * months
    disbursed = first_due - timedelta(days=30)
    return (
        f'{{"loan_id":"{loan_id}","customer_id":"{customer_id}","product":"{product}","branch":"{branch}",'
        f'"currency":"CNY","principal":"{principal}.00","annual_rate":"0.1200","disbursed_on":"{disbursed}",'
        f'"terms":{{"method":"annuity","months":{months},"first_due_date":"{first_due}"}}}}\n'
    )


async def bulk_intake(platform: Platform, lines: Sequence[str]) -> float:
    """Upload the book to repayment-monitor's POST /v1/loans/bulk and wait for the job; return its seconds."""
    started = time.monotonic()
    async with platform.client("repayment-monitor", role="system") as client:
        response = await client.post(
            "/v1/loans/bulk", content="".join(lines).encode(), headers={"Content-Type": "application/x-ndjson"}
        )
        if response.status_code != 202:
            raise PlatformError(f"bulk upload refused: {response.status_code} {response.text}")
        status_url = response.json()["status_url"]
        while True:
            platform.check_alive()
            job = (await client.get(status_url)).json()
            if job["status"] != "running":
                break
            await asyncio.sleep(0.5)
    if job["status"] != "succeeded" or job["loaded"] != len(lines):
        raise PlatformError(f"bulk intake did not load every loan: {job}")
    return time.monotonic() - started


async def close_day(platform: Platform, day: date) -> dict[str, Any]:
    """POST /v1/calendar/close-day for `day` as core banking's operator; the answer's body."""
    async with platform.client("repayment-monitor", role="system") as client:
        response = await client.post("/v1/calendar/close-day", json={"business_date": day.isoformat()})
    if response.status_code != 200:
        raise PlatformError(f"close of {day} refused: {response.status_code} {response.text}")
    return dict(response.json())

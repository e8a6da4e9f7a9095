"""Repayments on a written-off loan are recoveries: recorded, announced, never allocated, the loan stays written off."""

from __future__ import annotations

from datetime import date

import pytest
from rm_testkit import LOAN
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.contracts import parse_data
from postloan_common.db import engine_scope
from postloan_common.messaging.envelope import Envelope
from postloan_repayment_monitor.store.loans import mark_written_off

pytestmark = pytest.mark.integration


def repayment(rid: str, amount: str) -> dict[str, str]:
    return {"repayment_id": rid, "amount": amount, "value_date": "2026-03-20", "channel": "agency-transfer"}


async def sql(url: str, query: str) -> list[tuple]:
    async with engine_scope(url) as engine, engine.begin() as conn:
        result = await conn.execute(text(query))
        return [tuple(r) for r in result.all()] if result.returns_rows else []


async def events(url: str) -> list[Envelope]:
    rows = await sql(url, "SELECT payload FROM outbox WHERE topic = 'repayment.loans' ORDER BY id")
    found = [Envelope.from_bytes(bytes(payload)) for (payload,) in rows]
    for event in found:
        parse_data(event)
    return found


async def write_off(url: str) -> None:
    """What the loan-written-off consumer does to the loan (service/writeoff.py)."""
    async with engine_scope(url) as engine, engine.begin() as conn, AsyncSession(bind=conn) as session:
        await mark_written_off(session, loan_id="L-1001", on=date(2026, 3, 15))


async def test_a_repayment_on_a_written_off_loan_is_a_recovery(rm_api, token):
    h = token("system")
    async with rm_api("2026-03-20") as (client, url):
        assert (await client.post("/v1/loans", json=LOAN, headers=h)).status_code == 201
        await write_off(url)
        before = await sql(url, "SELECT seq, paid_principal, paid_interest, paid_penalty FROM installments ORDER BY 1")
        path = "/v1/loans/L-1001/repayments"

        posted = await client.post(path, json=repayment("R-REC1", "250.00"), headers=h)
        assert posted.status_code == 201, posted.text
        body = posted.json()
        assert (body["recovery"], body["loan_status"], body["lines"]) == (True, "written_off", [])
        assert set(body["allocation"].values()) == {"0.00"}
        again = await client.post(path, json=repayment("R-REC1", "250.00"), headers=h)
        assert (again.status_code, again.json()) == (200, body)
        reused = await client.post(path, json=repayment("R-REC1", "251.00"), headers=h)
        assert reused.status_code == 409
        refused = await client.post("/v1/repayments/R-REC1/reversal", json={"reason": "bounced"}, headers=h)
        assert refused.status_code == 409

        assert (await client.get("/v1/loans/L-1001", headers=h)).json()["status"] == "written_off"
        after = await sql(url, "SELECT seq, paid_principal, paid_interest, paid_penalty FROM installments ORDER BY 1")
        assert after == before  # allocated to no installment
        assert await sql(url, "SELECT count(*) FROM allocations") == [(0,)]
        assert await sql(url, "SELECT status, amount FROM repayments") == [("recovered", 250)]
    announced = [e for e in await events(url) if e.subject == "L-1001" and e.type != "loan-registered"]
    assert [e.type for e in announced] == ["recovery-received"]
    assert (announced[0].data["amount"], announced[0].data["received_on"]) == ("250.00", "2026-03-20")


async def test_a_closed_loan_still_refuses_repayments(rm_api, token):
    h = token("system")
    async with rm_api("2026-03-20") as (client, url):
        assert (await client.post("/v1/loans", json=LOAN, headers=h)).status_code == 201
        await sql(url, "UPDATE loans SET status = 'closed', closed_on = '2026-03-19' WHERE loan_id = 'L-1001'")
        refused = await client.post("/v1/loans/L-1001/repayments", json=repayment("R-1", "10.00"), headers=h)
        assert (refused.status_code, refused.json()["reason"]) == (409, "loan_closed")

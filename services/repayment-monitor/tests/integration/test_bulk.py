"""Bulk intake: NDJSON and CSV files through COPY, idempotent, line-precise rejections, the API job."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from datetime import date
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from postloan_common.contracts import LoanRegisteredV1, parse_data
from postloan_common.db import engine_scope, session_factory
from postloan_common.messaging.envelope import Envelope
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.domain.schedule import add_months
from postloan_repayment_monitor.service import bulk, bulk_parse
from postloan_repayment_monitor.service.booking_input import LoanIn
from postloan_repayment_monitor.service.commands import booking_command
from postloan_repayment_monitor.service.intake import BookLoan, schedule_of

pytestmark = pytest.mark.integration

TODAY = date(2026, 1, 5)
METHODS = ("annuity", "equal_principal", "interest_only")


def explicit(i: int) -> dict[str, Any]:
    """A loan with an explicit schedule of 3 to 12 installments."""
    months = 3 + i % 10
    part = D(100 + i)
    first = date(2026, 2, 1 + i % 28)
    return {
        "loan_id": f"L-{i:05d}",
        "customer_id": f"C-{i % 97}",
        "product": "consumer-12m" if i % 2 else "auto",
        "branch": f"B{i % 5}",
        "currency": "CNY",
        "principal": f"{part * months:.2f}",
        "annual_rate": "0.1200" if i % 3 else "0.0875",
        "disbursed_on": "2026-01-01",
        "installments": [
            {
                "seq": k + 1,
                "due_date": add_months(first, k).isoformat(),
                "principal": f"{part:.2f}",
                "interest": f"{(months - k) * 1.25:.2f}",
                **({"fee": "1.50"} if i % 4 == 0 else {}),
            }
            for k in range(months)
        ],
    }


def with_terms(i: int) -> dict[str, Any]:
    """A loan whose schedule is generated from terms."""
    return {
        "loan_id": f"T-{i:05d}",
        "customer_id": f"C-{i % 97}",
        "product": "consumer-12m",
        "branch": "SH01",
        "currency": "CNY",
        "principal": f"{1000 + 37 * i}.{i % 100:02d}",
        "annual_rate": "0.1450",
        "disbursed_on": "2026-01-03",
        "terms": {"method": METHODS[i % 3], "months": 6 + i % 7, "first_due_date": f"2026-02-{1 + i % 28:02d}"},
    }


def ndjson(bodies: list[Any]) -> bytes:
    return b"".join((b if isinstance(b, bytes) else json.dumps(b).encode()) + b"\n" for b in bodies)


def installment_csv(bodies: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*bulk.LOAN_COLUMNS, *bulk.INSTALLMENT_COLUMNS])
    for b in bodies:
        for i in b["installments"]:
            loan = [b[c] for c in bulk.LOAN_COLUMNS]
            writer.writerow([*loan, i["seq"], i["due_date"], i["principal"], i["interest"], i.get("fee", "")])
    return out.getvalue().encode()


def terms_csv(bodies: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*bulk.LOAN_COLUMNS, *bulk.TERMS_COLUMNS])
    for b in bodies:
        writer.writerow([*(b[c] for c in bulk.LOAN_COLUMNS), *(b["terms"][c] for c in bulk.TERMS_COLUMNS)])
    return out.getvalue().encode()


def command_of(body: dict[str, Any]) -> BookLoan:
    """The booking the API makes of a body: LoanIn's rules, then the REST mapping."""
    return booking_command(LoanIn.model_validate(body))


async def run_file(url: str, tmp_path: Path, content: bytes, fmt: bulk.Format, chunk_size: int = 70) -> dict:
    path = tmp_path / f"upload-{time.monotonic_ns()}.{fmt}"
    path.write_bytes(content)
    async with engine_scope(url) as engine:
        sessions = session_factory(engine)
        job_id = bulk.new_job_id()
        async with sessions.begin() as session:
            await bulk.create_job(session, job_id=job_id, fmt=fmt, submitted_by="test")
        await bulk.load_file(
            sessions,
            job_id=job_id,
            path=path,
            fmt=fmt,
            initial_business_date=TODAY,
            buckets=BucketScheme(),
            chunk_size=chunk_size,
        )
        async with sessions() as session:
            job = await bulk.get_job(session, job_id=job_id)
    assert job is not None
    return job


async def fetch(url: str, sql: str) -> list[Any]:
    async with engine_scope(url) as engine, engine.connect() as conn:
        return list((await conn.execute(text(sql))).all())


async def registered_events(url: str) -> dict[str, tuple[Envelope, LoanRegisteredV1]]:
    rows = await fetch(url, "SELECT payload, key, headers FROM outbox WHERE event_type = 'loan-registered' ORDER BY id")
    out = {}
    for row in rows:
        envelope = Envelope.from_bytes(bytes(row.payload))
        data = parse_data(envelope)
        assert isinstance(data, LoanRegisteredV1)
        assert envelope.subject == row.key == data.loan_id
        assert row.headers["event-type"] == "loan-registered"
        out[data.loan_id] = (envelope, data)
    return out


async def assert_loaded(url: str, bodies: list[dict[str, Any]]) -> None:
    """Loans, installments, outbox events and history are those book_loans would have written."""
    loans = {r.loan_id: r for r in await fetch(url, "SELECT * FROM loans")}
    installments: dict[str, list[Any]] = {}
    for r in await fetch(url, "SELECT * FROM installments ORDER BY loan_id, seq"):
        installments.setdefault(r.loan_id, []).append(r)
    events = await registered_events(url)
    history = {
        r.event_id: r for r in await fetch(url, "SELECT * FROM loan_events WHERE event_type = 'loan-registered'")
    }
    assert set(loans) == {b["loan_id"] for b in bodies}
    assert len(events) == len(history) == len(bodies)
    for body in bodies:
        command = command_of(body)
        schedule = schedule_of(command)
        loan = loans[command.loan_id]
        assert loan.content_hash == command.content_hash()
        assert (loan.customer_id, loan.product, loan.branch, loan.currency) == (
            command.customer_id,
            command.product,
            command.branch,
            command.currency,
        )
        assert loan.principal == command.principal == loan.outstanding_principal
        assert loan.annual_rate == command.annual_rate
        assert loan.penalty_rate == (command.annual_rate * D("1.5")).quantize(D("0.000001"))
        assert (loan.grace_days, loan.status, loan.bucket, loan.booked_via) == (0, "active", "M0", "bulk")
        assert loan.oldest_unpaid_due == schedule[0].due_date
        got = [(i.seq, i.due_date, i.grace_ends_on, i.principal, i.interest, i.fee) for i in installments[loan.loan_id]]
        assert got == [(s.seq, s.due_date, s.due_date, s.principal, s.interest, s.fee) for s in schedule]
        envelope, data = events[command.loan_id]
        assert envelope.business_date == TODAY and envelope.source == "repayment-monitor"
        assert (data.principal, data.annual_rate, data.disbursed_on) == (
            command.principal,
            command.annual_rate,
            command.disbursed_on,
        )
        assert (data.installment_count, data.first_due_date, data.maturity_date) == (
            len(schedule),
            schedule[0].due_date,
            schedule[-1].due_date,
        )
        assert history[envelope.id].loan_id == command.loan_id
        assert history[envelope.id].data == envelope.data


def test_fast_path_matches_the_api_rules():
    """The hand-written path stages exactly what LoanIn + schedule_of + content_hash give."""
    bodies = [explicit(i) for i in range(12)] + [with_terms(i) for i in range(6)]
    for body in bodies:
        fast = bulk_parse._fast_parse(1, body)
        assert fast is not None, body["loan_id"]
        command = command_of(body)
        slow = bulk_parse._parsed(1, command, schedule_of(command), command.content_hash())
        assert (fast.loan, fast.installments, fast.registered) == (slow.loan, slow.installments, slow.registered)
    # Anything out of the canonical form goes the slow way and gets the same result.
    odd = explicit(3) | {"principal": "+" + explicit(3)["principal"]}
    assert bulk_parse._fast_parse(1, odd) is None
    parsed = bulk_parse.parse_booking(1, odd)
    assert isinstance(parsed, bulk_parse.ParsedLoan) and command_of(explicit(3)).content_hash() in parsed.loan


async def test_ndjson_and_csv_files_load_and_a_second_upload_changes_nothing(migrated_database, tmp_path):
    url = await migrated_database("postloan_repayment_monitor")
    explicit_loans = [explicit(i) for i in range(150)]
    terms_loans = [with_terms(i) for i in range(150)]
    job = await run_file(url, tmp_path, ndjson(explicit_loans + terms_loans), "ndjson")
    assert (job["status"], job["total"], job["loaded"], job["unchanged"], job["rejected"]) == (
        "succeeded",
        300,
        300,
        0,
        0,
    )
    assert job["finished_at"] is not None and job["errors"] == []

    csv_loans = [explicit(i) for i in range(150, 350)]
    job = await run_file(url, tmp_path, installment_csv(csv_loans), "csv")
    assert (job["status"], job["total"], job["loaded"], job["rejected"]) == ("succeeded", 200, 200, 0), job
    csv_terms = [with_terms(i) for i in range(150, 180)]
    job = await run_file(url, tmp_path, terms_csv(csv_terms), "csv")
    assert (job["status"], job["total"], job["loaded"], job["rejected"]) == ("succeeded", 30, 30, 0), job

    everything = explicit_loans + terms_loans + csv_loans + csv_terms
    await assert_loaded(url, everything)

    before = await fetch(url, "SELECT count(*) AS n FROM outbox")
    again = await run_file(url, tmp_path, ndjson(explicit_loans + terms_loans), "ndjson")
    assert (again["status"], again["total"], again["loaded"], again["unchanged"], again["rejected"]) == (
        "succeeded",
        300,
        0,
        300,
        0,
    )
    again = await run_file(url, tmp_path, installment_csv(csv_loans), "csv")
    assert (again["loaded"], again["unchanged"], again["rejected"]) == (0, 200, 0)
    assert await fetch(url, "SELECT count(*) AS n FROM outbox") == before
    assert (await fetch(url, "SELECT count(*) AS n FROM loan_events"))[0].n == len(everything)


async def test_bad_lines_are_rejected_with_their_line_numbers_and_the_rest_load(migrated_database, tmp_path):
    url = await migrated_database("postloan_repayment_monitor")
    good = [explicit(i) for i in range(40)]
    missing = {k: v for k, v in explicit(900).items() if k != "customer_id"}
    unbalanced = explicit(901)
    unbalanced["installments"][0]["principal"] = "1.00"
    other_content = explicit(5) | {"branch": "ELSEWHERE"}
    terms_before_disbursal = with_terms(902) | {
        "terms": {"method": "annuity", "months": 12, "first_due_date": "2025-12-01"}
    }
    lines: list[Any] = [
        *good[:2],  # lines 1-2
        b'{"loan_id": "L-BROKEN", ',  # line 3: not JSON
        good[2],  # line 4
        missing,  # line 5
        good[3],  # line 6
        unbalanced,  # line 7
        *good[4:6],  # lines 8-9 (L-00005 on line 9)
        other_content,  # line 10: L-00005 again, other content
        good[5],  # line 11: L-00005 again, same content
        b"[1, 2]",  # line 12: not an object
        terms_before_disbursal,  # line 13
        *good[6:],
    ]
    job = await run_file(url, tmp_path, ndjson(lines), "ndjson", chunk_size=7)
    assert job["status"] == "succeeded"
    assert (job["total"], job["loaded"], job["unchanged"], job["rejected"]) == (len(lines), 40, 1, 6), job
    errors = {e["line"]: e for e in job["errors"]}
    assert set(errors) == {3, 5, 7, 10, 12, 13}, job["errors"]
    assert "not valid JSON" in errors[3]["reason"]
    assert "customer_id" in errors[5]["reason"] and errors[5]["loan_id"] == "L-00900"
    assert "sums to" in errors[7]["reason"] and errors[7]["loan_id"] == "L-00901"
    assert errors[10]["loan_id"] == "L-00005" and "different content" in errors[10]["reason"]
    assert "JSON object" in errors[12]["reason"]
    assert "first_due_date" in errors[13]["reason"] and errors[13]["loan_id"] == "T-00902"
    await assert_loaded(url, good)

    # A CSV whose rows of one loan disagree, or have the wrong width, rejects that loan only.
    rows = installment_csv([explicit(i) for i in range(100, 104)]).decode().splitlines()
    rows[1 + len(explicit(100)["installments"]) + 1] = rows[1 + len(explicit(100)["installments"]) + 1].replace(
        ",B1,", ",B9,"
    )
    rows.insert(3, "only,three,columns")
    job = await run_file(url, tmp_path, ("\n".join(rows) + "\n").encode(), "csv")
    assert (job["loaded"], job["rejected"]) == (3, 2), job
    assert {e["line"] for e in job["errors"]} == {4, 3 + len(explicit(100)["installments"])}, job["errors"]


async def test_a_file_that_cannot_be_read_fails_the_job(migrated_database, tmp_path):
    url = await migrated_database("postloan_repayment_monitor")
    job = await run_file(url, tmp_path, b"loan_id,principal\nL-1,100.00\n", "csv")
    assert job["status"] == "failed" and "loan columns" in job["errors"][-1]["reason"]


async def _wait_for(client, headers, status_url: str, deadline_s: float = 60.0) -> dict:
    deadline = time.monotonic() + deadline_s
    while True:
        response = await client.get(status_url, headers=headers)
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] != "running":
            return job
        assert time.monotonic() < deadline, f"bulk job still running: {job}"
        await asyncio.sleep(0.1)


async def test_api_accepts_an_upload_and_the_job_succeeds(rm_api, token):
    h = token("system")
    async with rm_api("2026-01-05") as (client, url):
        # Booked through the API first: the bulk line with the same body is a retry, not a conflict.
        first = explicit(0)
        assert (await client.post("/v1/loans", json=first, headers=h)).status_code == 201
        bodies = [explicit(i) for i in range(120)] + [with_terms(i) for i in range(30)]
        response = await client.post(
            "/v1/loans/bulk", content=ndjson(bodies), headers={**h, "Content-Type": "application/x-ndjson"}
        )
        assert response.status_code == 202, response.text
        accepted = response.json()
        assert accepted["status_url"] == f"/v1/loans/bulk/{accepted['job_id']}"
        assert response.headers["Location"] == accepted["status_url"]
        job = await _wait_for(client, h, accepted["status_url"])
        assert (job["status"], job["total"], job["loaded"], job["unchanged"], job["rejected"]) == (
            "succeeded",
            150,
            149,
            1,
            0,
        ), job
        assert job["submitted_by"] == "tester" and job["format"] == "ndjson"
        loan = (await client.get("/v1/loans/L-00042", headers=h)).json()
        assert loan["bucket"] == "M0" and D(loan["principal"]) == D(explicit(42)["principal"])

        csv_bodies = [explicit(i) for i in range(200, 230)]
        response = await client.post(
            "/v1/loans/bulk", content=installment_csv(csv_bodies), headers={**h, "Content-Type": "text/csv"}
        )
        assert response.status_code == 202, response.text
        job = await _wait_for(client, h, response.json()["status_url"])
        assert (job["status"], job["loaded"]) == ("succeeded", 30), job
        audit = await fetch(url, "SELECT actor, subject FROM audit_log WHERE action = 'loans.bulk'")
        assert {a.subject for a in audit} == {accepted["job_id"], response.json()["job_id"]}


async def test_api_refuses_without_the_right_role_or_type(rm_api, token):
    async with rm_api("2026-01-05") as (client, _url):
        body = ndjson([explicit(1)])
        ndjson_type = {"Content-Type": "application/x-ndjson"}
        assert (await client.post("/v1/loans/bulk", content=body, headers=ndjson_type)).status_code == 401
        forbidden = await client.post("/v1/loans/bulk", content=body, headers={**token("collector"), **ndjson_type})
        assert forbidden.status_code == 403
        assert (await client.get("/v1/loans/bulk/bulk-x", headers=token("collector"))).status_code == 403
        assert (await client.get("/v1/loans/bulk/bulk-x")).status_code == 401
        wrong = await client.post(
            "/v1/loans/bulk", content=body, headers={**token("admin"), "Content-Type": "application/json"}
        )
        assert wrong.status_code == 415 and wrong.headers["content-type"].startswith("application/problem+json")
        empty = await client.post("/v1/loans/bulk", content=b"", headers={**token("admin"), **ndjson_type})
        assert empty.status_code == 400
        assert (await client.get("/v1/loans/bulk/bulk-unknown", headers=token("admin"))).status_code == 404


def test_amounts_written_without_cents_fingerprint_like_the_api():
    """A bulk line with "3000" is the same booking as the API's "3000.00" (both paths, one hash)."""
    body = {
        "loan_id": "L-C1",
        "customer_id": "C-1",
        "product": "p",
        "branch": "b",
        "currency": "CNY",
        "principal": "3000",
        "annual_rate": "0.12",
        "disbursed_on": "2026-01-05",
        "installments": [{"seq": 1, "due_date": "2026-02-05", "principal": "3000", "interest": "30"}],
    }
    parsed = bulk_parse._fast_parse(1, body)
    installment = {"seq": 1, "due_date": "2026-02-05", "principal": "3000.00", "interest": "30.00", "fee": "0.00"}
    command = command_of(body | {"principal": "3000.00", "installments": [installment]})
    assert isinstance(parsed, bulk_parse.ParsedLoan)
    assert command.content_hash() in parsed.loan

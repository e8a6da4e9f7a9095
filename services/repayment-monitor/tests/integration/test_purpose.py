"""Loan purpose at booking: POST /v1/loans, loan-booked and the bulk column keep it and announce it."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest

from postloan_common.contracts import LoanBookedV1
from postloan_repayment_monitor.service import bulk, bulk_parse
from postloan_repayment_monitor.service.commands import booking_command
from postloan_repayment_monitor.service.intake import schedule_of

from .test_bulk import command_of, explicit, fetch, ndjson, registered_events, run_file, with_terms

pytestmark = pytest.mark.integration


def with_purpose(body: dict[str, Any], purpose: str) -> dict[str, Any]:
    return {**body, "purpose": purpose}


def test_the_purpose_is_part_of_the_fingerprint_only_when_given():
    body = explicit(1)
    plain = command_of(body)
    assert bulk_parse._command(body, plain.principal, plain.disbursed_on, plain.installments, None).purpose is None
    parsed = bulk_parse.parse_booking(1, with_purpose(body, "equipment"))
    assert isinstance(parsed, bulk_parse.ParsedLoan)
    # Loans booked before purposes existed keep their fingerprint; a purpose changes it.
    assert plain.content_hash() in bulk_parse.parse_booking(1, body).loan  # type: ignore[union-attr]
    assert plain.content_hash() not in parsed.loan
    assert '"purpose":"equipment"' in parsed.registered


def test_fast_path_with_a_purpose_matches_the_api_rules():
    for body in [with_purpose(explicit(i), "working_capital") for i in range(4)] + [
        with_purpose(with_terms(i), "vehicle") for i in range(3)
    ]:
        fast = bulk_parse._fast_parse(1, body)
        assert fast is not None, body["loan_id"]
        command = bulk_parse._slow_command(body)
        slow = bulk_parse._parsed(1, command, schedule_of(command), command.content_hash())
        assert (fast.loan, fast.installments, fast.registered) == (slow.loan, slow.installments, slow.registered)
    # An unknown purpose takes the slow path, which names the problem.
    refused = bulk_parse.parse_booking(3, with_purpose(explicit(1), "shares"))
    assert isinstance(refused, bulk_parse.LineError) and "purpose" in refused.reason


def test_a_loan_booked_event_carries_its_purpose_into_the_booking():
    body = with_purpose(explicit(2), "trade_finance")
    assert booking_command(LoanBookedV1.model_validate(body)).purpose == "trade_finance"
    assert booking_command(LoanBookedV1.model_validate(explicit(2))).purpose is None


def purpose_csv(bodies: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*bulk.LOAN_COLUMNS, "purpose", *bulk.TERMS_COLUMNS])
    for b in bodies:
        loan = [b[c] for c in bulk.LOAN_COLUMNS]
        writer.writerow([*loan, b.get("purpose", ""), *(b["terms"][c] for c in bulk.TERMS_COLUMNS)])
    return out.getvalue().encode()


async def test_bulk_files_keep_the_purpose_and_announce_it(migrated_database, tmp_path):
    url = await migrated_database("postloan_repayment_monitor")
    lines = [with_purpose(explicit(i), "equipment") for i in range(5)] + [explicit(5)]
    job = await run_file(url, tmp_path, ndjson(lines), "ndjson")
    assert (job["loaded"], job["rejected"]) == (6, 0), job
    rows = [with_purpose(with_terms(i), "consumption") for i in range(3)] + [with_terms(3)]
    job = await run_file(url, tmp_path, purpose_csv(rows), "csv")
    assert (job["loaded"], job["rejected"]) == (4, 0), job
    stored = {r.loan_id: r.purpose for r in await fetch(url, "SELECT loan_id, purpose FROM loans")}
    expected = {b["loan_id"]: b.get("purpose") for b in lines + rows}
    assert stored == expected
    events = await registered_events(url)
    assert {k: (v[1].purpose.value if v[1].purpose else None) for k, v in events.items()} == expected
    # The same file again is a retry: nothing new, nothing conflicting.
    again = await run_file(url, tmp_path, purpose_csv(rows), "csv")
    assert (again["loaded"], again["unchanged"], again["rejected"]) == (0, 4, 0), again


async def test_rest_booking_keeps_the_purpose_and_shows_it(rm_api, token):
    h = token("system")
    async with rm_api("2026-01-05") as (client, url):
        body = with_purpose(explicit(7), "home_improvement")
        created = await client.post("/v1/loans", json=body, headers=h)
        assert created.status_code == 201, created.text
        assert created.json()["purpose"] == "home_improvement"
        assert (await client.post("/v1/loans", json=body, headers=h)).status_code == 200
        other = await client.post("/v1/loans", json=with_purpose(explicit(7), "education"), headers=h)
        assert other.status_code == 409, other.text
        shown = (await client.get(f"/v1/loans/{body['loan_id']}", headers=h)).json()
        assert shown["purpose"] == "home_improvement"
        without = await client.post("/v1/loans", json=explicit(8), headers=h)
        assert without.status_code == 201 and without.json()["purpose"] is None
        bad = await client.post("/v1/loans", json=with_purpose(explicit(9), "shares"), headers=h)
        assert bad.status_code == 422 and "purpose" in bad.text
        events = await registered_events(url)
        assert events[body["loan_id"]][1].purpose is not None
        assert events[body["loan_id"]][1].purpose.value == "home_improvement"
        assert date.fromisoformat(shown["disbursed_on"]) == date(2026, 1, 1)

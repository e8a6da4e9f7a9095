"""Scheduled management reports: created over the API, rendered after the month's last close and
e-mailed to a real local SMTP server (aiosmtpd), with a record of each run; failures retried."""

from __future__ import annotations

import email
from email import policy as email_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text

from postloan_common.db import create_engine, session_factory
from postloan_dev.devstack import free_port
from postloan_reporting.adapters.mail import Mail, SmtpMailer
from postloan_reporting.domain.schedules import MAX_ATTEMPTS
from postloan_reporting.service.effectiveness import costs_from
from postloan_reporting.service.schedules import send_due
from postloan_reporting.settings import Settings

from .test_scenario import february, feed, march

pytestmark = pytest.mark.integration

BODY = {"schedule_id": "board", "recipients": ["risk@bank.example", "cfo@bank.example"], "lang": "zh-CN"}
PATH = "/v1/reports/management/schedules"


class Mailbox:
    """A local SMTP server (aiosmtpd) keeping every message it accepts, and their recipients."""

    def __init__(self) -> None:
        self.server = Controller(self, hostname="127.0.0.1", port=free_port())
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email_policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


class Refusing:
    """A mailer whose server is down."""

    async def send(self, mail: Mail) -> None:
        raise ConnectionRefusedError("smtp down")


@pytest.fixture
def mailbox():
    box = Mailbox()
    box.server.start()
    yield box
    box.server.stop()


async def _send(url: str, mailer) -> int:
    engine = create_engine(url)
    try:
        return await send_due(session_factory(engine), mailer=mailer, costs=costs_from(Settings()))
    finally:
        await engine.dispose()


async def test_a_schedule_is_created_once_and_guarded_by_role(migrated_database, reporting_api, token) -> None:
    url = await migrated_database("postloan_reporting")
    await feed(url, february())
    async with reporting_api(url) as client:
        assert (await client.post(PATH, json=BODY, headers=token("supervisor"))).status_code == 403
        created = await client.post(PATH, json=BODY, headers=token("analyst"))
        assert created.status_code == 201, created.text
        assert created.json() | {"created_at": None} == {
            **BODY,
            "format": "pdf",
            "product": None,
            "branch": None,
            "first_month": "2026-03-01",  # February is closed: March is the first month reported
            "created_by": "tester",  # the test token's subject
            "created_at": None,
            "runs": [],
        }
        again = await client.post(PATH, json=BODY, headers=token("admin"))
        assert again.status_code == 200 and again.json() == created.json()
        other = await client.post(PATH, json=BODY | {"recipients": ["x@bank.example"]}, headers=token("analyst"))
        assert other.status_code == 409 and other.headers["content-type"].startswith("application/problem+json")
        bad = await client.post(
            PATH, json=BODY | {"schedule_id": "b2", "recipients": ["not-an-address"]}, headers=token("analyst")
        )
        assert bad.status_code == 422
        assert (await client.post(PATH, json=BODY | {"recipients": []}, headers=token("analyst"))).status_code == 422
        assert (await client.get(f"{PATH}/board", headers=token("supervisor"))).status_code == 200
        assert (await client.get(f"{PATH}/nope", headers=token("analyst"))).status_code == 404


async def test_a_closed_month_is_mailed_once_with_the_report_attached(
    migrated_database, reporting_api, token, mailbox
) -> None:
    url = await migrated_database("postloan_reporting")
    await feed(url, february())
    mailer = SmtpMailer(smtp_host="127.0.0.1", smtp_port=mailbox.server.port, smtp_from="reports@postloan.test")
    async with reporting_api(url) as client:
        assert (await client.post(PATH, json=BODY, headers=token("analyst"))).status_code == 201
        assert await _send(url, mailer) == 0  # March is not closed yet
        await feed(url, march())
        assert await _send(url, mailer) == 1
        assert await _send(url, mailer) == 0  # sent once
        [(recipients, message)] = mailbox.messages
        assert recipients == BODY["recipients"]
        assert message["Subject"] == "贷后管理经营报告 2026-03-31"
        assert "较上月末变动最大的指标" in message.get_body(("plain",)).get_content()
        [attachment] = list(message.iter_attachments())
        assert attachment.get_filename() == "management-2026-03-31-zh-CN.pdf"
        assert attachment.get_content().startswith(b"%PDF")
        [run] = (await client.get(f"{PATH}/board", headers=token("analyst"))).json()["runs"]
        assert run | {"sent_at": None} == {
            "month": "2026-03-01",
            "as_of": "2026-03-31",
            "status": "sent",
            "attempts": 1,
            "error": None,
            "sent_at": None,
        }
        assert run["sent_at"] is not None


async def test_a_failed_e_mail_is_recorded_and_retried_a_few_times(migrated_database, reporting_api, token) -> None:
    url = await migrated_database("postloan_reporting")
    await feed(url, february())
    async with reporting_api(url) as client:
        assert (await client.post(PATH, json=BODY | {"format": "xlsx"}, headers=token("analyst"))).status_code == 201
        await feed(url, march())
        for _ in range(MAX_ATTEMPTS + 1):
            assert await _send(url, Refusing()) == 0
        [run] = (await client.get(f"{PATH}/board", headers=token("analyst"))).json()["runs"]
        assert (run["status"], run["attempts"], run["sent_at"]) == ("failed", MAX_ATTEMPTS, None)
        assert run["error"] == "ConnectionRefusedError: smtp down"


async def _audit_rows(url: str) -> list[tuple[str, str, str, dict]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT actor, action, subject, details FROM audit_log ORDER BY id"))
            return [tuple(r) for r in rows]
    finally:
        await engine.dispose()


async def test_schedules_are_listed_with_their_last_run_and_deleted_audited(
    migrated_database, reporting_api, token
) -> None:
    url = await migrated_database("postloan_reporting")
    await feed(url, february())
    async with reporting_api(url) as client:
        for schedule_id in ("board", "branch-a", "cfo"):
            body = BODY | {"schedule_id": schedule_id, "format": "xlsx"}
            assert (await client.post(PATH, json=body, headers=token("analyst"))).status_code == 201
        await feed(url, march())
        assert await _send(url, Refusing()) == 0  # every schedule's March run failed once
        first = (await client.get(PATH, params={"limit": 2}, headers=token("supervisor"))).json()
        assert [s["schedule_id"] for s in first["items"]] == ["board", "branch-a"]
        assert first["next_cursor"] == "branch-a"
        assert {(s["last_run_month"], s["last_run_status"], s["last_run_attempts"]) for s in first["items"]} == {
            ("2026-03-01", "failed", 1)
        }
        rest = (await client.get(PATH, params={"cursor": "branch-a"}, headers=token("analyst"))).json()
        assert [s["schedule_id"] for s in rest["items"]] == ["cfo"] and rest["next_cursor"] is None

        assert (await client.delete(f"{PATH}/board", headers=token("supervisor"))).status_code == 403
        assert (await client.delete(f"{PATH}/board", headers=token("analyst"))).status_code == 204
        gone = await client.delete(f"{PATH}/board", headers=token("admin"))
        assert gone.status_code == 404 and gone.headers["content-type"].startswith("application/problem+json")
        assert (await client.get(f"{PATH}/board", headers=token("analyst"))).status_code == 404
        listed = (await client.get(PATH, headers=token("analyst"))).json()["items"]
        assert [s["schedule_id"] for s in listed] == ["branch-a", "cfo"]
        fresh = await client.post(PATH, json=BODY | {"format": "pdf"}, headers=token("analyst"))
        assert fresh.status_code == 201 and fresh.json()["runs"] == []  # the old runs went with the schedule
    audit = await _audit_rows(url)
    assert [(actor, action, subject) for actor, action, subject, _ in audit] == [
        ("tester", "report_schedule.create", "board"),
        ("tester", "report_schedule.create", "branch-a"),
        ("tester", "report_schedule.create", "cfo"),
        ("tester", "report_schedule.delete", "board"),
        ("tester", "report_schedule.create", "board"),
    ]
    assert audit[0][3] == {
        "recipients": BODY["recipients"],
        "lang": "zh-CN",
        "format": "xlsx",
        "product": None,
        "branch": None,
        "first_month": "2026-03-01",
    }
    assert audit[3][3]["format"] == "xlsx" and audit[3][3]["recipients"] == BODY["recipients"]

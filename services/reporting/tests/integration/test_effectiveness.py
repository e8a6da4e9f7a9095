"""The effectiveness report from crm's case events, every figure worked out by hand (issue 16 item 6).

Experiment m1, cases opened 7 Feb 2026 (as of 31 Mar every 30-day window has ended):
- champion `champ`: K1 on L1 (a right-party call by A1 on 8 Feb, a promise kept, cured 20 Feb with 700
  collected); K2 on L2 (a no-answer call by A1 on 8 Feb, an SMS on 9 Feb; L2 unpaid since 5 Feb, so DPD 32,
  M2, on 9 Mar: rolled forward from M1).
- hold-out `hold`: K3 on L3 cured 10 Feb with 500 and no contact (a self-cure); K4 on L4, open, untouched.
K5 (experiment `other`) and K6 (no experiment, an event from before experiments) are not in the report.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
from datetime import date
from decimal import Decimal as D

import pytest
from openpyxl import load_workbook

from postloan_common.contracts import crm, make_envelope, repayment
from postloan_common.db import create_engine, session_factory
from postloan_reporting.domain.effectiveness import defaulted
from postloan_reporting.service.effectiveness import Costs, effectiveness_report, programme_view
from postloan_reporting.service.ingest import apply_events

pytestmark = pytest.mark.integration

COSTS = Costs(unit={"sms": D("0.05"), "phone": D("0.30")}, handle_minutes={"phone": D("5")}, hour=D("60.00"))
CLOSE_COUNTS = dict(loans_processed=4, payments_due=0, payments_missed=0, delinquency_changes=0)


def ev(data, day: str, source: str = "crm"):
    subject = getattr(data, "loan_id", None) or "p0"
    return make_envelope(data=data, source=source, subject=subject, business_date=date.fromisoformat(day))


def registered(loan_id: str):
    return ev(
        repayment.LoanRegisteredV1(
            loan_id=loan_id,
            customer_id=f"C-{loan_id}",
            product="P1",
            branch="B1",
            currency="CNY",
            principal=D("2000.00"),
            annual_rate=D("0.12"),
            disbursed_on=date(2026, 1, 5),
            installment_count=3,
            first_due_date=date(2026, 2, 5),
            maturity_date=date(2026, 4, 5),
        ),
        "2026-01-05",
        "repayment-monitor",
    )


def opened(
    case_id: str, loan: str, *, experiment: str | None, arm: str | None, role: str | None, day: str = "2026-02-07"
):
    return ev(
        crm.CaseOpenedV1(
            case_id=case_id,
            customer_id=f"C-{loan}",
            loan_id=loan,
            queue="automated",
            bucket="M1",
            dpd=2,
            overdue_amount=D("700.00"),
            currency="CNY",
            experiment=experiment,
            arm=arm,
            arm_role=role,
        ),
        day,
    )


def cured(case_id: str, loan: str, day: str, amount: str, arm: str, experiment: str = "m1"):
    return ev(
        crm.CaseClosedV1(
            case_id=case_id,
            customer_id=f"C-{loan}",
            loan_id=loan,
            reason="cured",
            closed_on=date.fromisoformat(day),
            amount_collected=D(amount),
            currency="CNY",
            experiment=experiment,
            arm=arm,
        ),
        day,
    )


def contact(interaction_id: str, case_id: str, loan: str, *, connected: bool, outcome: str):
    data = crm.ContactAttemptedV1(
        interaction_id=interaction_id,
        customer_id=f"C-{loan}",
        loan_id=loan,
        case_id=case_id,
        channel="phone",
        connected=connected,
        outcome=outcome,
        agent_id="A1",
    )
    return ev(data, "2026-02-08")


def events() -> list:
    promise = dict(promise_id="P1", customer_id="C-L1", loan_id="L1", case_id="K1", amount=D("700.00"), currency="CNY")
    unpaid = dict(installment_seq=1, due_date=date(2026, 2, 5))
    return [
        *(registered(f"L{i}") for i in range(1, 6)),
        ev(
            repayment.PaymentMissedV1(
                loan_id="L2",
                customer_id="C-L2",
                amount_overdue=D("700.00"),
                currency="CNY",
                dpd=1,
                bucket="M1",
                **unpaid,
            ),
            "2026-02-06",
            "repayment-monitor",
        ),
        ev(
            repayment.DelinquencyChangedV1(
                loan_id="L2",
                customer_id="C-L2",
                from_bucket="M0",
                to_bucket="M1",
                dpd=1,
                overdue_amount=D("700.00"),
                outstanding=D("2040.00"),
                currency="CNY",
            ),
            "2026-02-06",
            "repayment-monitor",
        ),
        opened("K1", "L1", experiment="m1", arm="champ", role="champion"),
        opened("K2", "L2", experiment="m1", arm="champ", role="champion"),
        opened("K3", "L3", experiment="m1", arm="hold", role="control"),
        opened("K4", "L4", experiment="m1", arm="hold", role="control"),
        opened("K5", "L5", experiment="other", arm="champ", role="champion"),
        opened("K6", "L5", experiment=None, arm=None, role=None),
        contact("I1", "K1", "L1", connected=True, outcome="promise_to_pay"),
        contact("I2", "K2", "L2", connected=False, outcome="no_answer"),
        ev(crm.PromiseToPayMadeV1(**promise, promised_date=date(2026, 2, 15), agent_id="A1"), "2026-02-08"),
        ev(
            crm.PromiseKeptV1(
                **promise, promised_date=date(2026, 2, 15), amount_paid=D("700.00"), kept_on=date(2026, 2, 14)
            ),
            "2026-02-14",
        ),
        ev(
            crm.ReminderSentV1(
                reminder_id="M1", customer_id="C-L2", loan_id="L2", channel="sms", template="dunning-overdue"
            ),
            "2026-02-09",
        ),
        cured("K3", "L3", "2026-02-10", "500.00", "hold"),
        cured("K1", "L1", "2026-02-20", "700.00", "champ"),
        *(
            ev(
                repayment.DayClosedV1(business_date=date(2026, 3, 31), partition=p, partitions=2, **CLOSE_COUNTS),
                "2026-03-31",
                "repayment-monitor",
            )
            for p in (0, 1)
        ),
    ]


async def _report(url: str, **kwargs):
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            return await effectiveness_report(
                session, experiment="m1", start=date(2026, 2, 1), end=date(2026, 2, 28), costs=COSTS, **kwargs
            )
    finally:
        await engine.dispose()


async def test_each_arm_against_the_champion(migrated_database) -> None:
    url = await migrated_database("postloan_reporting")
    engine = create_engine(url)
    async with session_factory(engine).begin() as session:
        await apply_events(session, events())
    await engine.dispose()

    report = await _report(url, as_of=date(2026, 3, 31))
    assert report.champion == "champ"
    champ, hold = report.arms
    assert (champ.arm, champ.role, champ.cases, champ.mature_cases) == ("champ", "champion", 2, 2)
    assert (hold.arm, hold.role, hold.cases, hold.mature_cases) == ("hold", "control", 2, 2)
    rates = {name: (r.successes, r.trials, r.rate) for name, r in champ.rates.items()}
    assert rates == {
        "cure_rate_30d": (1, 2, D("0.500000")),
        "roll_forward_rate": (1, 2, D("0.500000")),
        "self_cure_rate": (0, 2, D("0.000000")),
        "right_party_contact_rate": (1, 2, D("0.500000")),
        "promise_rate": (1, 1, D("1.000000")),
        "kept_rate": (1, 1, D("1.000000")),
    }
    assert champ.rates["cure_rate_30d"].p_value is None  # the champion is not compared with itself
    # 2 calls × 0.30 + 1 SMS × 0.05 = 0.65; 2 × 5 min = 1/6 h × 60 = 10.00; 10.65 ÷ 700 = 0.015214.
    assert ([(c.channel, c.count) for c in champ.attempts], [(c.channel, c.count) for c in champ.messages]) == (
        [("phone", 2)],
        [("sms", 1)],
    )
    assert (champ.contact_cost, champ.collector_hours, champ.collector_cost) == (D("0.65"), D("0.166667"), D("10.00"))
    assert (champ.total_cost, champ.amount_collected, champ.cost_per_yuan_recovered) == (
        D("10.65"),
        D("700.00"),
        D("0.015214"),
    )
    assert champ.cases_per_collector_day == D("2.000000")  # A1 worked K1 and K2 on 8 Feb

    assert (hold.amount_collected, hold.total_cost, hold.cost_per_yuan_recovered) == (
        D("500.00"),
        D("0.00"),
        D("0.000000"),
    )
    assert hold.cases_per_collector_day is None
    same = hold.rates["cure_rate_30d"]
    assert (same.rate, same.difference, same.p_value) == (D("0.500000"), D("0.000000"), D("1.000000"))
    # 1 of 2 against 0 of 2: pooled 0.25, z = 0.5 / √(0.25 × 0.75 × 1) = 1.1547, p = 2(1 − Φ(1.1547)) = 0.2482.
    self_cure = hold.rates["self_cure_rate"]
    assert (self_cure.successes, self_cure.trials, self_cure.difference) == (1, 2, D("0.500000"))
    assert round(self_cure.p_value, 4) == D("0.2482")
    assert hold.rates["roll_forward_rate"].successes == 0
    assert (hold.rates["promise_rate"].trials, hold.rates["promise_rate"].rate) == (0, None)

    early = await _report(url, as_of=date(2026, 3, 8))  # K1–K4's windows end on 9 Mar
    assert [a.mature_cases for a in early.arms] == [0, 0]
    assert early.arms[0].rates["cure_rate_30d"].rate is None
    against_hold = await _report(url, as_of=date(2026, 3, 31), champion="hold")
    assert [a.arm for a in against_hold.arms] == ["hold", "champ"]


async def test_the_report_over_http(migrated_database, reporting_api, token) -> None:
    url = await migrated_database("postloan_reporting")
    engine = create_engine(url)
    async with session_factory(engine).begin() as session:
        await apply_events(session, events())
    await engine.dispose()
    path = "/v1/reports/effectiveness?experiment=m1&from=2026-02-01&to=2026-02-28"
    async with reporting_api(url) as client:
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers=token("collector"))).status_code == 403
        response = await client.get(path, headers=token("analyst"))
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["experiment"], body["as_of"], body["window_days"], body["champion"]) == (
            "m1",
            "2026-03-31",
            30,
            "champ",
        )
        hold = body["arms"][1]
        assert hold["rates"]["self_cure_rate"] | {"p_value": None} == {
            "successes": 1,
            "trials": 2,
            "rate": "0.500000",
            "ci_low": "0.094531",
            "ci_high": "0.905469",
            "difference": "0.500000",
            "p_value": None,
        }
        assert body["arms"][0]["cost_per_yuan_recovered"] == "0.015214"
        assert body["arms"][0]["messages"] == [{"channel": "sms", "count": 1}]
        programme = body["programme"]  # nobody was booked in February: nothing to compare
        assert (programme["horizon_days"], programme["current"]["default_rate"]["trials"]) == (31, 0)
        table = await client.get(path + "&format=csv", headers=token("supervisor"))
        rows = list(csv.DictReader(io.StringIO(table.text)))
        assert [(r["arm"], r["contacts"], r["self_cure_rate"], r["self_cure_rate_p_value"]) for r in rows] == [
            ("champ", "3", "0.000000", ""),
            ("hold", "0", "0.500000", "0.248213"),  # 2(1 − Φ(1.1547)) = 2 × 0.124107
        ]
        assert (await client.get("/v1/reports/effectiveness", headers=token("analyst"))).status_code == 422
        backwards = "/v1/reports/effectiveness?experiment=m1&from=2026-03-01&to=2026-02-28"
        assert (await client.get(backwards, headers=token("analyst"))).status_code == 422
        since_ever = "/v1/reports/effectiveness?experiment=m1&from=0001-01-01&to=2026-02-28"
        assert (await client.get(since_ever, headers=token("analyst"))).status_code == 200
        empty = (await client.get(path.replace("m1", "nobody"), headers=token("analyst"))).json()
        assert (empty["arms"], empty["champion"]) == ([], None)


def booked(loan_id: str, on: date):
    """A loan of 3 monthly installments booked `on`, the first due a month later."""
    return ev(
        repayment.LoanRegisteredV1(
            loan_id=loan_id,
            customer_id=f"C-{loan_id}",
            product="P1",
            branch="B1",
            currency="CNY",
            principal=D("2000.00"),
            annual_rate=D("0.12"),
            disbursed_on=on,
            installment_count=3,
            first_due_date=on.replace(month=on.month + 1),
            maturity_date=on.replace(month=on.month + 3),
        ),
        on.isoformat(),
        "repayment-monitor",
    )


def missed_first(loan_id: str, due: date):
    day = due.replace(day=due.day + 1)
    return ev(
        repayment.PaymentMissedV1(
            loan_id=loan_id,
            customer_id=f"C-{loan_id}",
            amount_overdue=D("700.00"),
            currency="CNY",
            dpd=1,
            bucket="M1",
            installment_seq=1,
            due_date=due,
        ),
        day.isoformat(),
        "repayment-monitor",
    )


async def test_the_programme_view_sets_this_periods_bookings_beside_the_year_befores(migrated_database) -> None:
    """January 2026 bookings C1–C4 (C1 never pays its 5 Feb installment) beside January 2025's P1–P2 (P1 never
    pays its 5 Feb 2025 one); P3, booked June 2025 and unpaid, is in neither cohort."""
    url = await migrated_database("postloan_reporting")
    events = [
        *(booked(f"C{i}", date(2026, 1, 5)) for i in range(1, 5)),
        *(booked(f"P{i}", date(2025, 1, 5)) for i in range(1, 3)),
        booked("P3", date(2025, 6, 5)),
        missed_first("C1", date(2026, 2, 5)),
        missed_first("P1", date(2025, 2, 5)),
        missed_first("P3", date(2025, 7, 5)),
    ]
    engine = create_engine(url)
    async with session_factory(engine).begin() as session:
        await apply_events(session, events)
    try:
        async with session_factory(engine)() as session:
            late = await programme_view(
                session, start=date(2026, 1, 1), end=date(2026, 1, 31), as_of=date(2026, 12, 31)
            )
            young = await programme_view(
                session, start=date(2026, 1, 1), end=date(2026, 1, 31), as_of=date(2026, 3, 31)
            )
    finally:
        await engine.dispose()
    # 31 Jan → 31 Dec is 334 days: C1 is DPD 303 on 5 Dec 2026 (booked + 334), P1 DPD 303 on 5 Dec 2025.
    assert defaulted(303)
    assert (late.horizon_days, late.default_after_dpd) == (334, 90)
    assert (late.year_before.start, late.year_before.end) == (date(2025, 1, 1), date(2025, 1, 31))
    now, before = late.current.default_rate, late.year_before.default_rate
    assert (now.successes, now.trials, now.rate) == (1, 4, D("0.250000"))
    assert (before.successes, before.trials, before.rate) == (1, 2, D("0.500000"))
    # pooled 1/3, z = −0.25 / √(1/3 × 2/3 × (1/4 + 1/2)) = −0.6124, p = 2(1 − Φ(0.6124)) = 0.5403
    assert now.difference == D("-0.250000") and round(now.p_value, 3) == D("0.540")
    # 59 days after booking C1 is DPD 54 and P1 DPD 28: neither has defaulted yet, on the same horizon.
    assert not defaulted(54)
    assert young.horizon_days == 59
    assert (young.current.default_rate.successes, young.year_before.default_rate.successes) == (0, 0)


def march_cases() -> list:
    """Experiment m2, cases opened 1 Mar 2026 (windows end 31 Mar): champion `a` cures K7 on 5 Mar (300);
    challenger `b` cures K9 on 10 Mar (100) and leaves K8 open; nobody is contacted, so nothing costs."""
    m2 = dict(experiment="m2", day="2026-03-01")
    return [
        opened("K7", "L1", arm="a", role="champion", **m2),
        opened("K8", "L3", arm="b", role="challenger", **m2),
        opened("K9", "L4", arm="b", role="challenger", **m2),
        cured("K7", "L1", "2026-03-05", "300.00", "a", experiment="m2"),
        cured("K9", "L4", "2026-03-10", "100.00", "b", experiment="m2"),
    ]


def _pdf_text(content: bytes, tmp_path) -> str:
    pdf = tmp_path / "management.pdf"
    pdf.write_bytes(content)
    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s+", "", out)


async def test_the_management_report_has_the_programme_effectiveness_section(
    migrated_database, reporting_api, token, tmp_path
) -> None:
    """February: m1 (K1–K4) and `other` (K5) have cases, none mature by 28 Feb; costs at the default settings
    (a call 0.30 and 5 minutes of an hour at 60.00, an SMS 0.05): champ 10.65 for 700 = 0.0152 a yuan, hold
    nothing for 500. March: m2's a cured 1 of 1 (Wilson 20.65–100 %), b 1 of 2 (9.45–90.55 %), −50 pp, pooled
    2/3, z = −0.5 / √(2/9 × 1.5) = −0.866, p = 0.3865. The programme view judges the month's bookings a year
    before (a month's own have no days behind them at its end): in January 2025 Y1 and Y2, Y1 never paying its
    5 Feb 2025 installment (DPD 334 on booked + 365: defaulted); none in February or March 2025."""
    url = await migrated_database("postloan_reporting")
    engine = create_engine(url)
    async with session_factory(engine).begin() as session:
        year_before = [
            booked("Y1", date(2025, 1, 5)),
            booked("Y2", date(2025, 1, 5)),
            missed_first("Y1", date(2025, 2, 5)),
        ]
        await apply_events(session, [*events(), *march_cases(), *year_before])
    await engine.dispose()
    path = "/v1/reports/management"
    async with reporting_api(url) as client:
        feb = await client.get(path, params={"as_of": "2026-02-28", "lang": "en"}, headers=token())
        assert feb.status_code == 200, feb.text
        assert "Experiment m1 · Champion: champ" in feb.text and "Experiment other · Champion: champ" in feb.text
        assert (
            "<td>champ</td><td>Champion</td><td>2</td><td>0</td><td>–</td><td>–</td><td>–</td><td>0.0152</td>"
            in feb.text
        )
        assert (
            "<td>hold</td><td>Control</td><td>2</td><td>0</td><td>–</td><td>–</td><td>–</td><td>0.0000</td>" in feb.text
        )
        assert "<td>A year before</td><td>2025-02-01 – 2025-02-28</td><td>0</td><td>0</td><td>–</td>" in feb.text
        assert "m2" not in feb.text and "No strategy experiment" not in feb.text

        pdf = await client.get(path, params={"as_of": "2026-03-31", "format": "pdf"}, headers=token())
        text = _pdf_text(pdf.content, tmp_path)
        assert "策略实验m2·冠军组:a" in text and "m1" not in text
        assert "100.00%[20.65%,100.00%]" in text and "50.00%[9.45%,90.55%]" in text
        assert "-50.00个百分点0.3865" in text

        xlsx = await client.get(path, params={"as_of": "2026-03-31", "format": "xlsx", "lang": "en"}, headers=token())
        rows = list(load_workbook(io.BytesIO(xlsx.content))["Effectiveness"].iter_rows(values_only=True))
        arms = {row[1]: row for row in rows if row[0] == "m2"}
        assert arms["b"][2:6] == ("challenger", 2, 2, 0.5) and arms["b"][8] == -0.5
        assert round(arms["b"][9], 4) == 0.3865 and arms["a"][10:13] == (0, 300, 0)
        assert rows[2][:6] == ("current", "2025-03-01", "2025-03-31", 365, 0, 0)

        # January: no case opened, so one line instead of a table; Y1 and Y2 booked a year before.
        jan = await client.get(path, params={"as_of": "2026-01-31", "lang": "en"}, headers=token())
        assert jan.text.count("No strategy experiment had cases opened this month.") == 1
        assert "Cure rate (30 d)" not in jan.text
        assert "<td>A year before</td><td>2025-01-01 – 2025-01-31</td><td>2</td><td>1</td><td>50.00%</td>" in jan.text

"""Risk alerts in crm: which alerts open a watch case, where an alerted case stands, and the handlers' wiring."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from postloan_common.contracts import RiskAlertRaisedV1, make_envelope
from postloan_common.messaging.consumer import PermanentError
from postloan_crm import consumers
from postloan_crm.consumers.alerts import ReviewsDue, RiskAlertsRaised, RiskAlertsResolved
from postloan_crm.consumers.common import parse_run
from postloan_crm.domain.alerts import opens_watch_case
from postloan_crm.domain.strategy import StrategyTable, escalated, rank
from postloan_crm.domain.worklist import CaseFacts, worklist

TODAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("severity", "subject", "has_case", "opens"),
    [
        ("high", "loan", False, True),
        ("critical", "loan", False, True),
        ("medium", "loan", False, False),
        ("low", "loan", False, False),
        ("high", "loan", True, False),
        ("high", "customer", False, False),
    ],
)
def test_only_a_high_alert_on_a_loan_without_a_case_opens_a_watch_case(severity, subject, has_case, opens):
    assert opens_watch_case(severity=severity, subject_type=subject, has_open_case=has_case) is opens


def test_watching_is_the_softest_queue_so_any_delinquency_hardens_it():
    assert rank("watch") < rank("automated")
    assert escalated("watch").value == "automated"


def _facts(case_id: str, balance: str, *, alert: bool = False, promise: date | None = None) -> CaseFacts:
    return CaseFacts(
        case_id=case_id,
        bucket="M2",
        balance_due=D(balance),
        pd=None,
        opened_on=date(2026, 3, 1),
        promise_date=promise,
        last_broken_on=None,
        callback_at=None,
        interactions=1,
        risk_alert=alert,
    )


def test_an_alerted_case_comes_after_the_due_promises_and_before_richer_cases():
    ranked = worklist(
        [
            _facts("rich", "9000.00"),
            _facts("alerted", "100.00", alert=True),
            _facts("promised", "50.00", promise=TODAY),
        ],
        today=TODAY,
        now=NOW,
    )
    assert [i.case_id for i in ranked] == ["promised", "alerted", "rich"]
    assert ranked[1].reasons == ("risk_alert",)


def test_the_alert_types_have_their_handlers():
    handlers = consumers.build_batch_handlers(strategy=StrategyTable())
    assert isinstance(handlers["risk-alert-raised"], RiskAlertsRaised)
    assert isinstance(handlers["risk-alert-resolved"], RiskAlertsResolved)
    assert isinstance(handlers["review-due"], ReviewsDue)
    assert {"risk-alert-raised", "risk-alert-resolved", "review-due"} <= set(
        consumers.build_handlers(strategy=StrategyTable())
    )


def test_a_raised_alert_without_a_severity_is_refused_for_good():
    data = RiskAlertRaisedV1(
        alert_id="A-1", rule_id="R-1", severity="high", subject_type="loan", subject_id="L-1", message="x"
    )
    envelope = make_envelope(data=data, source="risk-alert", subject="L-1")
    del envelope.data["severity"]
    with pytest.raises(PermanentError, match="does not match its contract"):
        parse_run([envelope], RiskAlertRaisedV1)

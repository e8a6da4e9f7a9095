"""Fund-use rules: which flows belong to a loan, and the four findings of a purpose's policy."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from postloan_risk_alert.domain import fund_use as fu

DAY0 = date(2026, 2, 2)


def out(
    flow_id: str,
    amount: str,
    kind: str = "supplier",
    *,
    day: int = 3,
    category: str | None = None,
    party: str = "acct-1",
    direction: str = "out",
) -> fu.Flow:
    return fu.Flow(flow_id, DAY0 + timedelta(days=day), direction, D(amount), kind, party, category)


def test_a_flow_in_another_currency_or_before_disbursement_is_refused():
    loan = fu.LoanTerms(currency="CNY", disbursed_on=DAY0)
    assert fu.flow_refusal(currency="CNY", occurred_on=DAY0, loan=loan) is None
    assert "currency USD" in (fu.flow_refusal(currency="USD", occurred_on=DAY0, loan=loan) or "")
    assert "before the disbursement" in (
        fu.flow_refusal(currency="CNY", occurred_on=DAY0 - timedelta(days=1), loan=loan) or ""
    )


def test_the_fingerprint_ignores_key_order_and_sees_every_value():
    a = {"flow_id": "F", "amount": "1.00", "counterparty": {"name": "x", "kind": "person"}}
    b = {"counterparty": {"kind": "person", "name": "x"}, "amount": "1.00", "flow_id": "F"}
    assert fu.flow_fingerprint(a) == fu.flow_fingerprint(b)
    assert fu.flow_fingerprint(a) != fu.flow_fingerprint({**a, "amount": "1.01"})


def test_defaults_forbid_securities_real_estate_other_lenders_gambling_and_crypto():
    policy = fu.default_policy("working_capital")
    assert fu.is_forbidden(policy, out("a", "10", "securities_broker"))
    assert fu.is_forbidden(policy, out("b", "10", "real_estate"))
    assert fu.is_forbidden(policy, out("c", "10", "lender"))
    assert fu.is_forbidden(policy, out("d", "10", "merchant", category="7995"))
    assert fu.is_forbidden(policy, out("e", "10", "merchant", category="6051"))
    assert not fu.is_forbidden(policy, out("f", "10", "supplier", category="5051"))
    assert not fu.is_forbidden(policy, out("g", "10", "lender", direction="in"))
    # A company counterparty is forbidden above the threshold for consumption loans only.
    big = out("h", "20000.01", "company")
    assert fu.is_forbidden(fu.default_policy("consumption"), big)
    assert not fu.is_forbidden(fu.default_policy("consumption"), out("i", "20000.00", "company"))
    assert not fu.is_forbidden(policy, big)
    flag = fu.forbidden_use(policy, [out("a", "10", "securities_broker"), out("f", "5", "supplier")])
    assert flag is not None and flag.rule == "fund_forbidden_use" and flag.flow_ids == ("a",) and flag.amount == D(10)
    assert fu.forbidden_use(policy, [out("f", "5")]) is None


def test_more_than_ten_percent_back_to_the_borrower_within_ninety_days_is_flow_back():
    policy = fu.Policy()
    flows = [out("a", "60", "borrower_self", day=10), out("b", "41", "related_party", day=90), out("c", "900")]
    flag = fu.flow_back(policy, flows, disbursed=D(1000), disbursed_on=DAY0)
    assert flag is not None and flag.flow_ids == ("a", "b") and flag.amount == D(101)
    assert "10.1%" in flag.reason
    exactly = [out("a", "60", "borrower_self"), out("b", "40", "related_party")]
    assert fu.flow_back(policy, exactly, disbursed=D(1000), disbursed_on=DAY0) is None
    late = [out("a", "60", "borrower_self"), out("b", "41", "related_party", day=91)]
    assert fu.flow_back(policy, late, disbursed=D(1000), disbursed_on=DAY0) is None


def test_less_than_eighty_percent_traced_within_thirty_days_is_untraced_for_non_retail():
    policy = fu.Policy()
    flows = [out("a", "700", day=30), out("b", "200", "unknown", day=5), out("c", "100", day=31)]
    args = {"disbursed": D(1000), "disbursed_on": DAY0}
    flag = fu.untraced(policy, flows, as_of=DAY0 + timedelta(days=31), retail=False, **args)
    assert flag is not None and flag.rule == "fund_untraced" and flag.amount == D(300)
    assert fu.untraced(policy, flows, as_of=DAY0 + timedelta(days=30), retail=False, **args) is None  # window open
    assert fu.untraced(policy, flows, as_of=DAY0 + timedelta(days=31), retail=True, **args) is None
    enough = [out("a", "800", day=30)]
    assert fu.untraced(policy, enough, as_of=DAY0 + timedelta(days=60), retail=False, **args) is None
    retail_too = fu.Policy(trace_retail=True)
    assert fu.untraced(retail_too, flows, as_of=DAY0 + timedelta(days=31), retail=True, **args) is not None


def test_three_transfers_just_under_the_threshold_to_one_counterparty_within_days_are_splitting():
    policy = fu.Policy()
    near = [out(f"s{i}", "49000.00", day=i * 2) for i in range(3)]  # days 0, 2, 4
    flag = fu.splitting(policy, near)
    assert flag is not None and flag.flow_ids == ("s0", "s1", "s2") and flag.amount == D("147000.00")
    assert fu.splitting(policy, near[:2]) is None
    spread = [out(f"s{i}", "49000.00", day=i * 3) for i in range(3)]  # days 0, 3, 6: six days apart
    assert fu.splitting(policy, spread) is None
    others = [out(f"s{i}", "49000.00", day=i, party=f"acct-{i}") for i in range(3)]
    assert fu.splitting(policy, others) is None
    at_threshold = [out(f"s{i}", "50000.00", day=i) for i in range(3)]
    assert fu.splitting(policy, at_threshold) is None
    too_small = [out(f"s{i}", "44999.99", day=i) for i in range(3)]
    assert fu.splitting(policy, too_small) is None


def test_defaults_per_purpose_and_the_json_form_round_trips():
    working = fu.default_policy("working_capital")
    assert (working.traced_share, working.trace_window_days, working.trace_retail) == (D("0.80"), 30, False)
    assert (working.max_flow_back_share, working.flow_back_window_days) == (D("0.10"), 90)
    assert working.company_counterparty_limit is None
    assert fu.default_policy("consumption").company_counterparty_limit == fu.CONSUMPTION_COMPANY_LIMIT
    for purpose in ("consumption", "equipment"):
        policy = fu.default_policy(purpose)
        assert fu.policy_from_json(fu.policy_to_json(policy)) == policy
    as_json = fu.policy_to_json(working)
    assert as_json["forbidden_counterparty_kinds"] == ["lender", "real_estate", "securities_broker"]
    assert as_json["traced_share"] == "0.80"
    # Stored data written before a field existed keeps that field's default.
    assert fu.policy_from_json({"traced_share": "0.5"}) == fu.Policy(traced_share=D("0.5"))


def test_only_flows_that_can_change_a_flag_trigger_an_evaluation_and_evaluate_gathers_all_flags():
    policy = fu.Policy()
    assert not fu.may_raise(policy, out("a", "1000", "supplier"))
    assert not fu.may_raise(policy, out("b", "10", "lender", direction="in"))
    assert fu.may_raise(policy, out("c", "10", "lender"))
    assert fu.may_raise(policy, out("d", "10", "borrower_self"))
    assert fu.may_raise(policy, out("e", "46000", "supplier"))
    flows = [out("x", "500", "securities_broker"), out("y", "200", "related_party")]
    flags = fu.evaluate(
        policy, flows, disbursed=D(1000), disbursed_on=DAY0, as_of=DAY0 + timedelta(days=40), retail=False
    )
    assert [f.rule for f in flags] == ["fund_forbidden_use", "fund_flow_back", "fund_untraced"]
    assert set(fu.SEVERITY) == {"fund_forbidden_use", "fund_flow_back", "fund_untraced", "fund_splitting"}

"""The ingest path's shortcuts give what the definitions give: the row fingerprint is the content's."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from postloan_common.contracts import FundMovedV1
from postloan_risk_alert.domain import fund_use as fu
from postloan_risk_alert.service.fund_flows import flow_row

# Quotes, backslashes, control characters, non-ASCII (Chinese names), astral characters: all escaped by json.dumps.
_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=12)
_ID = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc", "Zl", "Zp")), min_size=1, max_size=10)
_KINDS = ("supplier", "merchant", "person", "company", "borrower_self", "related_party", "lender", "unknown")


@st.composite
def flows(draw: st.DrawFn) -> FundMovedV1:
    cents = draw(st.integers(1, 10**12))
    return FundMovedV1.model_validate(
        {
            "flow_id": draw(_ID),
            "loan_id": draw(_ID),
            "occurred_on": date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 800))),
            "direction": draw(st.sampled_from(("out", "in"))),
            "amount": draw(st.sampled_from((f"{cents // 100}.{cents % 100:02d}", str(cents), f"{cents}.5"))),
            "currency": draw(st.sampled_from(("CNY", "USD"))),
            "counterparty": {
                "name": draw(_TEXT),
                "account": draw(st.none() | _TEXT),
                "bank": draw(st.none() | _TEXT),
                "kind": draw(st.sampled_from(_KINDS)),
            },
            "category": draw(st.sampled_from((None, "5051", "7995", "working_capital"))),
            "channel": draw(_TEXT),
        }
    )


@settings(max_examples=300, deadline=None)
@given(flows())
def test_the_row_fingerprint_is_the_fingerprint_of_the_flows_json_form(flow: FundMovedV1) -> None:
    row = flow_row(flow)
    assert row["content_hash"] == fu.flow_fingerprint(flow.model_dump(mode="json"))
    assert fu.row_fingerprint({**row, "amount": row["amount"] + 1}) != row["content_hash"]


def test_the_row_fingerprint_escapes_as_json_does() -> None:
    flow = FundMovedV1.model_validate(
        {
            "flow_id": "F1",
            "loan_id": "L1",
            "occurred_on": "2026-03-02",
            "direction": "out",
            "amount": "45000",
            "currency": "CNY",
            "counterparty": {"name": '上海 "供应" \\ 商\n', "kind": "supplier"},
            "channel": "cnaps",
        }
    )
    assert flow_row(flow)["content_hash"] == fu.flow_fingerprint(flow.model_dump(mode="json"))

"""Fund-use tracking (资金流向追踪): which flows a loan's policy accepts, and what they show.

Pure functions of the flows, the loan and its purpose's policy; the service feeds them and stores
what they return (issue 15).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _json_string  # json.dumps' own (C)
from typing import Any

from postloan_common.money import quantize_ratio

# Counterparties that take the money straight back to the borrower (回流).
BACK_KINDS = frozenset({"borrower_self", "related_party"})
# Securities, real estate purchase and down payments, repayment of other lenders: forbidden for every purpose.
DEFAULT_FORBIDDEN_KINDS = frozenset({"securities_broker", "real_estate", "lender"})
# ISO 18245 codes: security brokers (6211), quasi-cash and crypto (6051), real estate agents (6513),
# betting and lotteries (7995, 7800, 7801, 7802, 9406).
DEFAULT_FORBIDDEN_CATEGORIES = frozenset({"6211", "6051", "6513", "7995", "7800", "7801", "7802", "9406"})


@dataclass(frozen=True)
class LoanTerms:
    """What a flow is checked against: the loan's currency and disbursement day."""

    currency: str
    disbursed_on: date


def flow_refusal(*, currency: str, occurred_on: date, loan: LoanTerms) -> str | None:
    """Why a flow cannot belong to the loan (other currency, dated before disbursement), or None."""
    if currency != loan.currency:
        return f"currency {currency} is not the loan's currency {loan.currency}"
    if occurred_on < loan.disbursed_on:
        return f"occurred_on {occurred_on} is before the disbursement on {loan.disbursed_on}"
    return None


def flow_fingerprint(payload: Mapping[str, Any]) -> str:
    """Fingerprint of a flow's content (its JSON form), to tell a retry from a different flow under the same id."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _text(value: str | None) -> str:
    return "null" if value is None else _json_string(value)


def row_fingerprint(row: Mapping[str, Any]) -> str:
    """flow_fingerprint of a flow's JSON form, written from its stored row without building the JSON tree.

    The same bytes json.dumps gives for the contract's `model_dump(mode="json")` with sorted keys (a
    test holds them equal on drawn flows); ingest computes one per flow, so it skips the model dump.
    """
    text = (
        f'{{"amount":"{format(row["amount"], "f")}","category":{_text(row["category"])},'
        f'"channel":{_json_string(row["channel"])},"counterparty":{{"account":{_text(row["counterparty_account"])},'
        f'"bank":{_text(row["counterparty_bank"])},"kind":{_json_string(row["counterparty_kind"])},'
        f'"name":{_json_string(row["counterparty_name"])}}},"currency":{_json_string(row["currency"])},'
        f'"direction":{_json_string(row["direction"])},"flow_id":{_json_string(row["flow_id"])},'
        f'"loan_id":{_json_string(row["loan_id"])},"occurred_on":"{row["occurred_on"].isoformat()}"}}'
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Policy:
    """The fund-use policy of one loan purpose; every default is the issue's."""

    forbidden_counterparty_kinds: frozenset[str] = DEFAULT_FORBIDDEN_KINDS
    forbidden_categories: frozenset[str] = DEFAULT_FORBIDDEN_CATEGORIES
    # Any company counterparty paid more than this is forbidden (consumption loans); None: no limit.
    company_counterparty_limit: Decimal | None = None
    # At least this share of the proceeds is traced (to a known counterparty) within the window.
    traced_share: Decimal = Decimal("0.80")
    trace_window_days: int = 30
    trace_retail: bool = False  # the traced-share rule is for non-retail borrowers by default
    # At most this share goes back to the borrower or related parties within the window.
    max_flow_back_share: Decimal = Decimal("0.10")
    flow_back_window_days: int = 90
    # Splitting: at least `splitting_count` transfers to one counterparty within `splitting_window_days`,
    # each in [threshold × (1 − margin), threshold).
    splitting_threshold: Decimal = Decimal("50000.00")
    splitting_margin: Decimal = Decimal("0.10")
    splitting_count: int = 3
    splitting_window_days: int = 5


CONSUMPTION_COMPANY_LIMIT = Decimal("20000.00")


def default_policy(purpose: str) -> Policy:
    """The policy a purpose has until a risk officer sets one."""
    if purpose == "consumption":
        return Policy(company_counterparty_limit=CONSUMPTION_COMPANY_LIMIT)
    return Policy()


_SETS = ("forbidden_counterparty_kinds", "forbidden_categories")
_DECIMALS = ("traced_share", "max_flow_back_share", "splitting_threshold", "splitting_margin")


def policy_to_json(policy: Policy) -> dict[str, Any]:
    """The policy as JSON values: sets as sorted lists, decimals as strings."""
    out: dict[str, Any] = {}
    for name, value in vars(policy).items():
        if name in _SETS:
            out[name] = sorted(value)
        elif isinstance(value, Decimal):
            out[name] = str(value)
        else:
            out[name] = value
    return out


def policy_from_json(data: Mapping[str, Any]) -> Policy:
    """The policy of policy_to_json's values; a field missing from stored data keeps its default."""
    values: dict[str, Any] = {}
    for name in Policy.__dataclass_fields__:
        if name not in data:
            continue
        value = data[name]
        if name in _SETS:
            values[name] = frozenset(value)
        elif name in _DECIMALS or (name == "company_counterparty_limit" and value is not None):
            values[name] = Decimal(str(value))
        else:
            values[name] = value
    return Policy(**values)


@dataclass(frozen=True)
class Flow:
    flow_id: str
    occurred_on: date
    direction: str
    amount: Decimal
    counterparty_kind: str
    counterparty_key: str  # account when given, else name: who "one counterparty" is
    category: str | None = None


def is_forbidden(policy: Policy, flow: Flow) -> bool:
    """An outgoing flow to a forbidden counterparty kind or category, or to a company above the limit."""
    if flow.direction != "out":
        return False
    if flow.counterparty_kind in policy.forbidden_counterparty_kinds:
        return True
    if flow.category is not None and flow.category in policy.forbidden_categories:
        return True
    limit = policy.company_counterparty_limit
    return limit is not None and flow.counterparty_kind == "company" and flow.amount > limit


@dataclass(frozen=True)
class Flag:
    """A finding with the flows that caused it."""

    rule: str
    reason: str
    amount: Decimal
    flow_ids: tuple[str, ...] = field(default=())


def forbidden_use(policy: Policy, flows: Sequence[Flow]) -> Flag | None:
    """fund_forbidden_use: the outgoing flows the policy forbids."""
    hits = [f for f in flows if is_forbidden(policy, f)]
    if not hits:
        return None
    total = sum((f.amount for f in hits), Decimal(0))
    kinds = sorted({f.counterparty_kind for f in hits})
    return Flag(
        "fund_forbidden_use",
        f"{len(hits)} flow(s) to forbidden uses ({', '.join(kinds)})",
        total,
        tuple(f.flow_id for f in hits),
    )


def flow_back(policy: Policy, flows: Sequence[Flow], *, disbursed: Decimal, disbursed_on: date) -> Flag | None:
    """fund_flow_back: more than the allowed share paid to the borrower or related parties within the window."""
    end = disbursed_on + timedelta(days=policy.flow_back_window_days)
    hits = [f for f in flows if f.direction == "out" and f.counterparty_kind in BACK_KINDS and f.occurred_on <= end]
    total = sum((f.amount for f in hits), Decimal(0))
    if disbursed <= 0 or total <= disbursed * policy.max_flow_back_share:
        return None
    share = quantize_ratio(total / disbursed * 100, 1)
    return Flag(
        "fund_flow_back",
        f"{share}% of the proceeds went back to the borrower or related parties "
        f"within {policy.flow_back_window_days} days",
        total,
        tuple(f.flow_id for f in hits),
    )


def untraced(
    policy: Policy, flows: Sequence[Flow], *, disbursed: Decimal, disbursed_on: date, as_of: date, retail: bool
) -> Flag | None:
    """fund_untraced: once the window has passed, less than the required share traced to known counterparties."""
    end = disbursed_on + timedelta(days=policy.trace_window_days)
    if (retail and not policy.trace_retail) or as_of <= end or disbursed <= 0:
        return None
    traced = sum(
        (f.amount for f in flows if f.direction == "out" and f.counterparty_kind != "unknown" and f.occurred_on <= end),
        Decimal(0),
    )
    required = disbursed * policy.traced_share
    if traced >= required:
        return None
    remainder = max(disbursed - traced, Decimal(0))
    return Flag(
        "fund_untraced", f"only {traced} of {disbursed} traced within {policy.trace_window_days} days", remainder
    )


def splitting(policy: Policy, flows: Sequence[Flow]) -> Flag | None:
    """fund_splitting: many transfers just under the reporting threshold to one counterparty within days."""
    floor = policy.splitting_threshold * (1 - policy.splitting_margin)
    near = sorted(
        (f for f in flows if f.direction == "out" and floor <= f.amount < policy.splitting_threshold),
        key=lambda f: (f.counterparty_key, f.occurred_on, f.flow_id),
    )
    hits: dict[str, Flow] = {}
    by_party: dict[str, list[Flow]] = {}
    for f in near:
        by_party.setdefault(f.counterparty_key, []).append(f)
    for run in by_party.values():
        start = 0
        for end, f in enumerate(run):
            while (f.occurred_on - run[start].occurred_on).days > policy.splitting_window_days:
                start += 1
            if end - start + 1 >= policy.splitting_count:
                hits.update({g.flow_id: g for g in run[start : end + 1]})
    if not hits:
        return None
    chosen = sorted(hits.values(), key=lambda f: (f.occurred_on, f.flow_id))
    return Flag(
        "fund_splitting",
        f"{len(chosen)} transfers just under {policy.splitting_threshold} to one counterparty "
        f"within {policy.splitting_window_days} days",
        sum((f.amount for f in chosen), Decimal(0)),
        tuple(f.flow_id for f in chosen),
    )


def may_raise(policy: Policy, flow: Flow) -> bool:
    """Whether a new flow can change a flag that depends on flows (forbidden, flow back, splitting).

    Most flows (suppliers, merchants below the threshold band) cannot, so ingest evaluates only
    the loans of those that can.
    """
    if flow.direction != "out":
        return False
    near = policy.splitting_threshold * (1 - policy.splitting_margin) <= flow.amount < policy.splitting_threshold
    return near or flow.counterparty_kind in BACK_KINDS or is_forbidden(policy, flow)


def evaluate(
    policy: Policy,
    flows: Sequence[Flow],
    *,
    disbursed: Decimal,
    disbursed_on: date,
    as_of: date,
    retail: bool,
) -> list[Flag]:
    """Every flag the loan's flows raise under its purpose's policy, as of a business date."""
    found = [
        forbidden_use(policy, flows),
        flow_back(policy, flows, disbursed=disbursed, disbursed_on=disbursed_on),
        untraced(policy, flows, disbursed=disbursed, disbursed_on=disbursed_on, as_of=as_of, retail=retail),
        splitting(policy, flows),
    ]
    return [f for f in found if f is not None]


SEVERITY = {
    "fund_forbidden_use": "high",
    "fund_flow_back": "high",
    "fund_untraced": "medium",
    "fund_splitting": "medium",
}

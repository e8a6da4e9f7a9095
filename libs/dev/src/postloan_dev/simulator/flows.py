"""Where a simulated loan's proceeds go: a purpose fitting the product, and the flows out of its account.

An honest borrower spends most of the proceeds within days of the disbursement with suppliers or
merchants fitting the purpose (enough traced that risk-alert's default policy is met: ≥ 80 % within
30 days), keeps a little as cash, and now and then moves a few per cent to its own account (under the
10 % flow-back tolerance). A drawn share of borrowers, larger among those who will default, misuses
the loan: part of it goes to a forbidden counterparty (securities broker, real estate, another lender),
back to the borrower's own or a related account, or to one counterparty in transfers just under the
reporting threshold (splitting). Pure and seeded: the caller passes the loan's own flow RNG.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from postloan_common.contracts.fund_flows import FundMovedV1
from postloan_dev.simulator.ledger import cents

# Purposes a product is booked with, by weight (issue 15 item 1).
PURPOSES_OF: dict[str, tuple[tuple[str, float], ...]] = {
    "consumer-12m": (("consumption", 0.5), ("home_improvement", 0.2), ("education", 0.15), ("vehicle", 0.15)),
    "consumer-24m": (("home_improvement", 0.35), ("vehicle", 0.35), ("education", 0.15), ("consumption", 0.15)),
    "instalment-6m": (("consumption", 1.0),),
    "sme-36m": (("working_capital", 0.6), ("equipment", 0.25), ("trade_finance", 0.15)),
}
# Who is paid for a purpose, and with which categories (purpose categories or ISO 18245 codes, none forbidden).
SPENDING: dict[str, tuple[str, tuple[str, ...]]] = {
    "working_capital": ("supplier", ("working_capital", "5045", "5085", "5111", "4214")),
    "equipment": ("supplier", ("equipment", "5046", "5065")),
    "trade_finance": ("supplier", ("trade_finance", "4214", "5099")),
    "consumption": ("merchant", ("consumption", "5411", "5311", "5732", "5712", "5812")),
    "home_improvement": ("merchant", ("home_improvement", "5211", "5712", "1520")),
    "education": ("merchant", ("education", "8220", "8299")),
    "vehicle": ("merchant", ("vehicle", "5511", "5533")),
}
# The share of borrowers who misuse the loan: defaulters far more often.
MISUSE_SHARE_DEFAULTER = 0.30
MISUSE_SHARE_OTHER = 0.04
# Honest borrowers that move a little to their own account, below risk-alert's 10 % tolerance.
SMALL_FLOW_BACK_SHARE = 0.10
# risk-alert's default splitting rule: ≥ 3 transfers in [45,000, 50,000) to one counterparty within 5 days.
SPLITTING_THRESHOLD = Decimal("50000.00")
SPLITTING_FLOOR = Decimal("45500.00")
# Flows reach the platform two days after they happen at the earliest (the payment system's batch),
# so the loan is registered in risk-alert before its first flow arrives.
REPORTING_LAG_DAYS = 2
_FORBIDDEN: tuple[tuple[str, str | None, str], ...] = (
    ("securities_broker", "6211", "证券经纪有限公司"),
    ("real_estate", "6513", "房地产经纪有限公司"),
    ("lender", None, "小额贷款有限公司"),
)
_NAME_WORDS = ("恒达", "华兴", "瑞丰", "金桥", "宏远", "新元", "永盛", "鼎泰", "嘉禾", "同创", "兴业", "安和")
_NAME_TRADES = {"supplier": ("贸易", "制造", "物流", "建材", "电子"), "merchant": ("商贸", "百货", "家居", "服务")}


class Misuse(StrEnum):
    FORBIDDEN_USE = "forbidden_use"
    FLOW_BACK = "flow_back"
    SPLITTING = "splitting"


# The risk-alert rule that should catch each kind of misuse.
RULE_OF: dict[str, str] = {
    Misuse.FORBIDDEN_USE: "fund_forbidden_use",
    Misuse.FLOW_BACK: "fund_flow_back",
    Misuse.SPLITTING: "fund_splitting",
}


@dataclass(frozen=True, slots=True)
class PlannedFlow:
    """One outgoing flow of a loan's disbursement account (the payload of a fund-moved event)."""

    flow_id: str
    occurred_on: date
    amount: Decimal
    name: str
    account: str
    kind: str
    category: str | None
    channel: str
    misuse: bool = False


@dataclass(frozen=True, slots=True)
class FundPlan:
    misuse: Misuse | None
    flows: tuple[PlannedFlow, ...]

    def misuse_reported_on(self, *, book_day: date) -> date | None:
        """The day the first misusing flow reaches the platform (None for an honest loan)."""
        days = [reported_on(f, book_day=book_day) for f in self.flows if f.misuse]
        return min(days) if days else None


def choose_purpose(rng: random.Random, product: str) -> str:
    """A purpose fitting the product (`other` for a product the table does not know)."""
    choices = PURPOSES_OF.get(product, (("other", 1.0),))
    return rng.choices([p for p, _ in choices], weights=[w for _, w in choices], k=1)[0]


def draw_misuse(rng: random.Random, *, will_default: bool, principal: Decimal) -> Misuse | None:
    """Whether and how the borrower misuses the loan (splitting only where the proceeds allow three transfers)."""
    if rng.random() >= (MISUSE_SHARE_DEFAULTER if will_default else MISUSE_SHARE_OTHER):
        return None
    kinds = [Misuse.FORBIDDEN_USE, Misuse.FLOW_BACK]
    if principal * Decimal("0.6") >= 3 * SPLITTING_THRESHOLD:
        kinds.append(Misuse.SPLITTING)
    return rng.choice(kinds)


def split_amount(rng: random.Random, total: Decimal, parts: int) -> list[Decimal]:
    """`total` in `parts` positive cent amounts of random size that add up to it exactly."""
    weights = [rng.uniform(0.5, 1.5) for _ in range(parts)]
    scale = sum(weights)
    amounts = [cents(total * Decimal(str(w / scale))) for w in weights[:-1]]
    amounts.append(total - sum(amounts, Decimal(0)))
    return amounts


def _party(rng: random.Random, kind: str) -> tuple[str, str]:
    trades = _NAME_TRADES.get(kind, _NAME_TRADES["supplier"])
    name = f"{rng.choice(_NAME_WORDS)}{rng.choice(trades)}有限公司"
    return name, f"62{rng.randrange(10**14):014d}"


def _spending(rng: random.Random, start: date, purpose: str, total: Decimal, *, days: int) -> list[PlannedFlow]:
    """Payments of `total` to distinct counterparties fitting the purpose within `days` of the disbursement."""
    kind, categories = SPENDING.get(purpose, ("supplier", ("other",)))
    parts = max(1, min(8, int(total // 20_000) + rng.randint(1, 2)))
    out = []
    for amount in split_amount(rng, total, parts):
        name, account = _party(rng, kind)
        day = start + timedelta(days=rng.randint(0, days))
        out.append(PlannedFlow("", day, amount, name, account, kind, rng.choice(categories), "bank-transfer"))
    return out


def _misusing(rng: random.Random, start: date, own: str, misuse: Misuse, principal: Decimal) -> list[PlannedFlow]:
    """The flows that misuse part of the proceeds, within ten days of the disbursement."""
    day = start + timedelta(days=rng.randint(1, 10))
    if misuse is Misuse.FORBIDDEN_USE:
        kind, category, suffix = rng.choice(_FORBIDDEN)
        amount = cents(principal * Decimal(str(round(rng.uniform(0.2, 0.6), 2))))
        name = f"{rng.choice(_NAME_WORDS)}{suffix}"
        return [PlannedFlow("", day, amount, name, _party(rng, kind)[1], kind, category, "bank-transfer", True)]
    if misuse is Misuse.FLOW_BACK:
        amount = cents(principal * Decimal(str(round(rng.uniform(0.2, 0.7), 2))))
        if rng.random() < 0.5:
            return [PlannedFlow("", day, amount, "本人账户", own, "borrower_self", None, "online", True)]
        name, account = _party(rng, "supplier")
        return [PlannedFlow("", day, amount, name, account, "related_party", None, "bank-transfer", True)]
    name, account = _party(rng, "supplier")
    count = rng.randint(3, 5)
    return [
        PlannedFlow(
            "",
            day + timedelta(days=k),
            cents(Decimal(str(rng.uniform(float(SPLITTING_FLOOR), float(SPLITTING_THRESHOLD) - 10)))),
            name,
            account,
            "company",
            None,
            "bank-transfer",
            True,
        )
        for k in range(count)
    ]


def _honest_extras(rng: random.Random, start: date, own: str, principal: Decimal) -> list[PlannedFlow]:
    """Cash kept (untraced) and, now and then, a few per cent moved to the borrower's own account."""
    extras = []
    if rng.random() < 0.5:
        cash = cents(principal * Decimal(str(round(rng.uniform(0.01, 0.05), 2))))
        day = start + timedelta(days=rng.randint(0, 20))
        extras.append(PlannedFlow("", day, cash, "ATM 取现", "cash", "unknown", None, "atm"))
    if rng.random() < SMALL_FLOW_BACK_SHARE:
        back = cents(principal * Decimal(str(round(rng.uniform(0.02, 0.06), 2))))
        day = start + timedelta(days=rng.randint(0, 20))
        extras.append(PlannedFlow("", day, back, "本人账户", own, "borrower_self", None, "online"))
    return extras


def plan_flows(
    rng: random.Random,
    *,
    loan_id: str,
    principal: Decimal,
    disbursed_on: date,
    purpose: str,
    will_default: bool,
    borrower_account: str,
) -> FundPlan:
    """Every outgoing flow of the loan's proceeds, in time order, with ids `{loan_id}-F01`, …"""
    misuse = draw_misuse(rng, will_default=will_default, principal=principal)
    own = borrower_account
    flows = _misusing(rng, disbursed_on, own, misuse, principal) if misuse is not None else []
    flows += _honest_extras(rng, disbursed_on, own, principal) if misuse is None else []
    # At least 88 % of the proceeds leave the account traced, all within 25 days (the policy's window is 30).
    left = principal - sum((f.amount for f in flows), Decimal(0))
    spent = cents(min(left, principal * Decimal(str(round(rng.uniform(0.88, 0.97), 2)))))
    if spent > 0:
        flows += _spending(rng, disbursed_on, purpose, spent, days=25)
    ordered = sorted(flows, key=lambda f: (f.occurred_on, f.misuse, f.account, f.amount))
    return FundPlan(misuse, tuple(replace(f, flow_id=f"{loan_id}-F{n:02d}") for n, f in enumerate(ordered, start=1)))


def reported_on(flow: PlannedFlow, *, book_day: date) -> date:
    """The business day the flow reaches the platform: its day, and not before the reporting lag after booking."""
    return max(flow.occurred_on, book_day + timedelta(days=REPORTING_LAG_DAYS))


def fund_moved(flow: PlannedFlow, *, loan_id: str, currency: str) -> FundMovedV1:
    """The fund-moved event data of a planned flow."""
    party = {"name": flow.name, "account": flow.account, "kind": flow.kind}
    return FundMovedV1.model_validate(
        {
            "flow_id": flow.flow_id,
            "loan_id": loan_id,
            "occurred_on": flow.occurred_on,
            "direction": "out",
            "amount": flow.amount,
            "currency": currency,
            "counterparty": party,
            "category": flow.category,
            "channel": flow.channel,
        }
    )

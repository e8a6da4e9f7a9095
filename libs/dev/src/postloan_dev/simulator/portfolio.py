"""The simulated bank's products, branches and customers: plausible, seeded and obviously fake.

National ids use a region code that does not exist (99xxxx), US numbers the never-issued 9xx
area, UK ones the TN prefix; phones are the well-known example ranges (+86 13800…, +1 555-01xx,
+44 7700 900xxx) and e-mails use the reserved example.com / example.org domains.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from postloan_common.contracts.core_banking import CustomerUpsertedV1
from postloan_common.money import quantize_money


@dataclass(frozen=True)
class Product:
    code: str
    method: str  # annuity | equal_principal
    months: int
    rates: tuple[str, ...]
    principal_min: int
    principal_max: int
    principal_step: int
    segment: str  # retail | corporate
    weight: float
    # Sent as an explicit schedule (with a monthly fee) instead of terms the platform expands.
    explicit: bool = False
    monthly_fee_share: Decimal = Decimal(0)


PRODUCTS: tuple[Product, ...] = (
    Product("consumer-12m", "annuity", 12, ("0.0990", "0.1200", "0.1450", "0.1800"), 3_000, 50_000, 100,
            "retail", 0.40),
    Product("consumer-24m", "annuity", 24, ("0.0880", "0.1080", "0.1350"), 10_000, 150_000, 500, "retail", 0.27),
    Product("instalment-6m", "equal_principal", 6, ("0.0600",), 1_000, 20_000, 100, "retail", 0.18,
            explicit=True, monthly_fee_share=Decimal("0.003")),
    Product("sme-36m", "equal_principal", 36, ("0.0435", "0.0550", "0.0650", "0.0800"), 100_000, 2_000_000,
            10_000, "corporate", 0.15),
)  # fmt: skip

BRANCHES: tuple[tuple[str, str, float], ...] = (
    ("SH01", "上海", 0.30),
    ("BJ02", "北京", 0.25),
    ("GZ03", "广州", 0.15),
    ("SZ04", "深圳", 0.15),
    ("HZ05", "杭州", 0.08),
    ("CD06", "成都", 0.07),
)

_SURNAMES = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
    ("高", "gao"), ("罗", "luo"),
)  # fmt: skip
_GIVEN = (
    ("伟", "wei"), ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"), ("艳", "yan"),
    ("杰", "jie"), ("娟", "juan"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("秀英", "xiuying"),
    ("华", "hua"), ("慧", "hui"), ("建国", "jianguo"), ("晓东", "xiaodong"), ("婷", "ting"), ("鹏", "peng"),
)  # fmt: skip
_FIRST = ("Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "James", "Sophia", "William",
          "Isla", "Henry", "Mia", "Lucas", "Grace", "Jack")  # fmt: skip
_LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Taylor", "Davies", "Wilson", "Evans",
         "Thomas", "Miller", "Moore", "Clark", "Hall")  # fmt: skip
_COMPANY_WORDS = ("恒达", "华兴", "中信", "瑞丰", "金桥", "宏远", "新元", "永盛", "鼎泰", "嘉禾")
_TRADES = ("贸易", "科技", "制造", "物流", "餐饮", "建材", "电子", "服饰")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def pick_weighted(rng: random.Random, items: tuple[Any, ...], weights: tuple[float, ...]) -> Any:
    """One item by weight (random.choices, kept here so every call site draws the same way)."""
    return rng.choices(items, weights=weights, k=1)[0]


def choose_product(rng: random.Random) -> Product:
    return pick_weighted(rng, PRODUCTS, tuple(p.weight for p in PRODUCTS))


def choose_branch(rng: random.Random) -> tuple[str, str]:
    code, city, _ = pick_weighted(rng, BRANCHES, tuple(b[2] for b in BRANCHES))
    return code, city


def choose_principal(rng: random.Random, product: Product) -> Decimal:
    steps = (product.principal_max - product.principal_min) // product.principal_step
    # Skewed towards small loans, as real books are.
    k = int(steps * rng.random() ** 2)
    return quantize_money(product.principal_min + k * product.principal_step)


def fake_cn_id(rng: random.Random, birth: date) -> str:
    """An 18-character resident id with a valid check digit and a region code that does not exist."""
    body = f"99{rng.randrange(10_000):04d}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    check = _ID_CHECK[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]
    return body + check


def _person(rng: random.Random, n: int, *, city: str) -> dict[str, Any]:
    r = rng.random()
    if r < 0.90:
        timezone, country = "Asia/Shanghai", "CN"
    elif r < 0.96:
        timezone, country = "America/New_York", "US"
    else:
        timezone, country = "Europe/London", "GB"
    chinese = country == "CN" or rng.random() < 0.3
    if chinese:
        surname, given = rng.choice(_SURNAMES), rng.choice(_GIVEN)
        name = surname[0] + given[0]
        local = f"{given[1]}.{surname[1]}{n}"
    else:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        name = f"{first} {last}"
        local = f"{first.lower()}.{last.lower()}{n}"
    language = "zh-CN" if chinese and (country != "CN" or rng.random() < 0.95) else "en"
    birth = date(1960, 1, 1) + timedelta(days=rng.randrange(43 * 365))
    if country == "CN":
        national_id = fake_cn_id(rng, birth)
        phone = f"+8613800{rng.randrange(1_000_000):06d}"
    elif country == "US":
        national_id = f"9{rng.randrange(100):02d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10_000):04d}"
        phone = f"+1212555{rng.randrange(100, 200):04d}"
    else:
        national_id = f"TN{rng.randrange(1_000_000):06d}{rng.choice('ABCD')}"
        phone = f"+447700900{rng.randrange(1000):03d}"
    return {
        "name": name,
        "national_id": national_id,
        "phones": [{"number": phone, "kind": "mobile"}],
        "emails": [f"{local}@{'example.com' if chinese else 'example.org'}"],
        "timezone": timezone,
        "language": language,
        "birth_date": birth,
        "segment": "retail",
        "address": {"line1": f"{rng.randrange(1, 999)} Example Road", "city": city, "country": country},
    }


def _company(rng: random.Random, *, city: str) -> dict[str, Any]:
    code = "".join(rng.choice(_USCC_CHARS) for _ in range(10))
    return {
        "name": f"{city}{rng.choice(_COMPANY_WORDS)}{rng.choice(_TRADES)}有限公司",
        "national_id": f"91999900{code}",
        "phones": [{"number": f"+8613800{rng.randrange(1_000_000):06d}", "kind": "work"}],
        "emails": [f"finance{rng.randrange(10_000)}@example.com"],
        "timezone": "Asia/Shanghai",
        "language": "zh-CN",
        "segment": "corporate",
        "address": {"line1": f"{rng.randrange(1, 999)}号", "city": city, "country": "CN"},
    }


def new_customer(rng: random.Random, *, customer_id: str, n: int, segment: str, city: str) -> CustomerUpsertedV1:
    """A customer record as core banking would publish it."""
    fields = _company(rng, city=city) if segment == "corporate" else _person(rng, n, city=city)
    return CustomerUpsertedV1.model_validate({"customer_id": customer_id, **fields})


def with_new_phone(rng: random.Random, customer: CustomerUpsertedV1) -> CustomerUpsertedV1:
    """The same customer after changing their mobile number (the old one kept as `other`)."""
    old = customer.phones[0]
    # The last two digits stay inside each example range.
    new = {"number": f"{old.number[:-2]}{rng.randrange(100):02d}", "kind": old.kind}
    phones = [new, {"number": old.number, "kind": "other"}]
    return CustomerUpsertedV1.model_validate({**customer.model_dump(), "phones": phones})

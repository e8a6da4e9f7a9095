"""Building blocks shared by the event contracts: the base class, money and rate types, enums."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import IntEnum, StrEnum
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StringConstraints,
    WithJsonSchema,
)

_DECIMAL_TEXT = re.compile(r"^[+-]?\d+(\.\d+)?$")


class _DecimalRules:
    """Validation and JSON schema of a `Decimal` that travels as a JSON string and never as a float."""

    def __init__(
        self,
        places: int,
        *,
        ge: Decimal | None = None,
        gt: Decimal | None = None,
        le: Decimal | None = None,
        description: str,
    ) -> None:
        self.places = places
        self.ge, self.gt, self.le = ge, gt, le
        self.quantum = Decimal(1).scaleb(-places)
        fraction = rf"(\.\d{{1,{places}}})?" if places else ""
        sign = "-?" if ge is None and gt is None else ""
        self.json_schema: dict[str, Any] = {
            "type": "string",
            "format": "decimal",
            "pattern": rf"^{sign}\d+{fraction}$",
            "description": description,
        }

    def validate(self, value: object) -> Decimal:
        if type(value) is Decimal:  # the common case when a service builds an event
            result = value
        elif isinstance(value, bool | float):
            raise ValueError("must be a decimal string or an integer, never a float")
        elif isinstance(value, int):
            result = Decimal(value)
        elif isinstance(value, str):
            if not _DECIMAL_TEXT.match(value):
                raise ValueError(f"not a plain decimal number: {value!r}")
            result = Decimal(value)
        elif isinstance(value, Decimal):
            result = value
        else:
            raise ValueError(f"must be a decimal string, got {type(value).__name__}")
        if not result.is_finite():
            raise ValueError("must be a finite number")
        exponent = result.as_tuple().exponent
        assert isinstance(exponent, int)
        try:
            if exponent < -self.places:
                rounded = result.quantize(self.quantum)
                if rounded != result:
                    raise ValueError(f"must have at most {self.places} decimal places, got {value!r}")
                result = rounded
            elif exponent > 0:
                result = result.quantize(Decimal(1))
        except InvalidOperation as exc:
            raise ValueError(f"number out of range: {value!r}") from exc
        if self.ge is not None and result < self.ge:
            raise ValueError(f"must be ≥ {self.ge}")
        if self.gt is not None and result <= self.gt:
            raise ValueError(f"must be > {self.gt}")
        if self.le is not None and result > self.le:
            raise ValueError(f"must be ≤ {self.le}")
        return result


def _plain_decimal(value: Decimal) -> str:
    return format(value, "f")


_AS_STRING = PlainSerializer(_plain_decimal, return_type=str, when_used="json")

ZERO = Decimal(0)

_MONEY = _DecimalRules(2, ge=ZERO, description="Amount ≥ 0 as a decimal string, at most 2 decimal places")
_POSITIVE_MONEY = _DecimalRules(2, gt=ZERO, description="Amount > 0 as a decimal string, at most 2 decimal places")
_RATE = _DecimalRules(6, ge=ZERO, description="Rate as a fraction (0.12 = 12%), decimal string, ≤ 6 places")
_PROBABILITY = _DecimalRules(
    8, ge=ZERO, le=Decimal(1), description="Probability in [0, 1] as a decimal string, ≤ 8 places"
)

# Amounts: non-negative, at most 2 decimal places, a string in JSON ("1030.00").
Money = Annotated[Decimal, PlainValidator(_MONEY.validate), _AS_STRING, WithJsonSchema(_MONEY.json_schema)]
# Amounts that must be strictly positive (a principal, a repayment, a promise).
PositiveMoney = Annotated[
    Decimal,
    PlainValidator(_POSITIVE_MONEY.validate),
    _AS_STRING,
    WithJsonSchema(_POSITIVE_MONEY.json_schema),
]
# A signed measure (an index value, a change): at most 6 decimal places, a string in JSON ("-3.25").
_MEASURE = _DecimalRules(6, description="Signed number as a decimal string, at most 6 decimal places")


def _bounded(value: Decimal) -> Decimal:
    if abs(value) >= MEASURE_LIMIT:
        raise ValueError(f"must be of magnitude below {MEASURE_LIMIT}")
    return value


MEASURE_LIMIT = Decimal(10) ** 13  # fits numeric(20, 6)
SignedMeasure = Annotated[
    Decimal,
    PlainValidator(_MEASURE.validate),
    AfterValidator(_bounded),
    _AS_STRING,
    WithJsonSchema(_MEASURE.json_schema),
]
# Annual interest rates as fractions ("0.1200" = 12 %).
Rate = Annotated[Decimal, PlainValidator(_RATE.validate), _AS_STRING, WithJsonSchema(_RATE.json_schema)]
# Probabilities (PD) in [0, 1].
Probability = Annotated[
    Decimal, PlainValidator(_PROBABILITY.validate), _AS_STRING, WithJsonSchema(_PROBABILITY.json_schema)
]

Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\s\x00]+$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Code = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Dpd = Annotated[int, Field(ge=0, description="days past due")]
Count = Annotated[int, Field(ge=0)]


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return value


TimeZone = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_check_timezone)]


class EventData(BaseModel):
    """Base of every event payload: immutable, ignores unknown fields (additive changes keep the version)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_type: ClassVar[str]
    event_version: ClassVar[int]


class LoanPurpose(StrEnum):
    """What the borrower said the loan is for, at booking (fund-use tracking checks the money against it)."""

    WORKING_CAPITAL = "working_capital"
    EQUIPMENT = "equipment"
    CONSUMPTION = "consumption"
    HOME_IMPROVEMENT = "home_improvement"
    EDUCATION = "education"
    VEHICLE = "vehicle"
    TRADE_FINANCE = "trade_finance"
    OTHER = "other"


# Field groups shared by several events. Pydantic lists a base's fields first, so each group holds the
# leading fields of its events and every exported JSON schema keeps its field order.


class LoanEvent(EventData):
    """Base of the events about one loan: the loan and its customer, the two keys every consumer uses."""

    loan_id: Id
    customer_id: Id


class LoanBooking(LoanEvent):
    """The facts of a disbursed loan, as core banking books it and repayment-monitor registers it."""

    product: Id
    branch: Id
    currency: Currency
    principal: PositiveMoney
    annual_rate: Rate
    disbursed_on: date


class Bucket(StrEnum):
    M0 = "M0"
    M1 = "M1"
    M2 = "M2"
    M3 = "M3"
    M4 = "M4"
    M5 = "M5"
    M6 = "M6"
    M6_PLUS = "M6+"


class Classification(StrEnum):
    """Five-category classification; the last three are non-performing."""

    NORMAL = "normal"
    SPECIAL_MENTION = "special_mention"
    SUBSTANDARD = "substandard"
    DOUBTFUL = "doubtful"
    LOSS = "loss"


class Ifrs9Stage(IntEnum):
    STAGE_1 = 1
    STAGE_2 = 2
    STAGE_3 = 3


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class SubjectType(StrEnum):
    LOAN = "loan"
    CUSTOMER = "customer"


class ContactChannel(StrEnum):
    SMS = "sms"
    PHONE = "phone"
    EMAIL = "email"
    APP_PUSH = "app_push"
    WECHAT = "wechat"
    LETTER = "letter"
    FIELD_VISIT = "field_visit"


class ContactOutcome(StrEnum):
    """Interaction outcome codes of collections (docs/domain.md)."""

    RIGHT_PARTY_CONTACT = "right_party_contact"
    NO_ANSWER = "no_answer"
    WRONG_NUMBER = "wrong_number"
    REFUSED = "refused"
    PROMISE_TO_PAY = "promise_to_pay"
    DISPUTE = "dispute"
    HARDSHIP = "hardship"

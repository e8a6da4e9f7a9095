"""Product rules (configurable per product) and the delinquency buckets."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class Component(StrEnum):
    PENALTY = "penalty"
    FEE = "fee"
    INTEREST = "interest"
    PRINCIPAL = "principal"


class Waterfall(StrEnum):
    # Oldest installment first; within it the component order (the platform default, docs/domain.md).
    INSTALLMENT_FIRST = "installment_first"
    # Each component across all due installments before the next component.
    COMPONENT_FIRST = "component_first"


class Overpayment(StrEnum):
    CREDIT = "credit"  # applied to the next installments in due order
    PREPAY = "prepay"  # prepays principal from the last installment backwards


DEFAULT_COMPONENT_ORDER = (Component.PENALTY, Component.FEE, Component.INTEREST, Component.PRINCIPAL)
DEFAULT_DUE_OFFSETS = (7, 3, 1, 0)


@dataclass(frozen=True)
class ProductRules:
    waterfall: Waterfall = Waterfall.INSTALLMENT_FIRST
    component_order: tuple[Component, ...] = DEFAULT_COMPONENT_ORDER
    # None: the contract rate × penalty_multiplier.
    penalty_annual_rate: Decimal | None = None
    penalty_multiplier: Decimal = Decimal("1.5")
    grace_days: int = 0
    overpayment: Overpayment = Overpayment.CREDIT
    due_offsets: tuple[int, ...] = DEFAULT_DUE_OFFSETS

    def penalty_rate(self, contract_rate: Decimal) -> Decimal:
        """Annual penalty rate for a loan at `contract_rate`."""
        if self.penalty_annual_rate is not None:
            return self.penalty_annual_rate
        return contract_rate * self.penalty_multiplier

    def __post_init__(self) -> None:
        if sorted(self.component_order) != sorted(Component):
            raise ValueError("component_order must name each component exactly once")
        if self.grace_days < 0:
            raise ValueError("grace_days must be ≥ 0")
        if any(offset < 0 for offset in self.due_offsets):
            raise ValueError("due offsets are days before the due date and must be ≥ 0")


@dataclass(frozen=True)
class Bucket:
    name: str
    min_dpd: int
    max_dpd: int | None  # None: no upper bound


@dataclass(frozen=True)
class BucketScheme:
    """Delinquency buckets by DPD; the default is M0 current, M1 1–30, …, M6+ over 180."""

    buckets: tuple[Bucket, ...] = field(
        default_factory=lambda: (
            Bucket("M0", 0, 0),
            Bucket("M1", 1, 30),
            Bucket("M2", 31, 60),
            Bucket("M3", 61, 90),
            Bucket("M4", 91, 120),
            Bucket("M5", 121, 150),
            Bucket("M6", 151, 180),
            Bucket("M6+", 181, None),
        )
    )

    def __post_init__(self) -> None:
        expected = 0
        for bucket in self.buckets:
            if bucket.min_dpd != expected:
                raise ValueError(f"bucket {bucket.name} must start at DPD {expected}")
            if bucket.max_dpd is None:
                break
            expected = bucket.max_dpd + 1
        if self.buckets[-1].max_dpd is not None:
            raise ValueError("the last bucket must be open-ended")

    def bucket_of(self, dpd: int) -> str:
        """Name of the bucket that `dpd` falls in."""
        for bucket in self.buckets:
            if bucket.max_dpd is None or dpd <= bucket.max_dpd:
                return bucket.name
        raise AssertionError("unreachable: the last bucket is open-ended")

    @property
    def thresholds(self) -> tuple[int, ...]:
        """The DPD values at which a loan enters a new bucket by the passing of time alone."""
        return tuple(b.min_dpd for b in self.buckets if b.min_dpd > 0)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.buckets)

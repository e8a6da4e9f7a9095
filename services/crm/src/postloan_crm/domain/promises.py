"""Promises to pay: kept when payments from the day it was made to the promised date reach the amount."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum


class PromiseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"


@dataclass(frozen=True, slots=True)
class Promise:
    amount: Decimal
    promised_date: date
    made_on: date
    amount_paid: Decimal = Decimal("0.00")
    status: PromiseStatus = PromiseStatus.OPEN
    resolved_on: date | None = None


def counts_towards(promise: Promise, value_date: date) -> bool:
    """Whether a payment with this value date counts towards the promise."""
    return promise.status is PromiseStatus.OPEN and promise.made_on <= value_date <= promise.promised_date


def apply_payment(promise: Promise, *, amount: Decimal, value_date: date) -> Promise:
    """The promise after a payment; it is kept on the day the payments reach its amount."""
    if not counts_towards(promise, value_date):
        return promise
    paid = promise.amount_paid + amount
    if paid >= promise.amount:
        return replace(promise, amount_paid=paid, status=PromiseStatus.KEPT, resolved_on=value_date)
    return replace(promise, amount_paid=paid)


def reverse_payment(promise: Promise, *, amount: Decimal, value_date: date) -> Promise:
    """The open promise after a payment that counted towards it was reversed (kept ones stay kept)."""
    if not counts_towards(promise, value_date):
        return promise
    return replace(promise, amount_paid=max(Decimal("0.00"), promise.amount_paid - amount))


def close_day(promise: Promise, business_date: date) -> Promise:
    """The promise after close of day `business_date`: broken once its date has passed unpaid."""
    if promise.status is PromiseStatus.OPEN and promise.promised_date <= business_date:
        return replace(promise, status=PromiseStatus.BROKEN, resolved_on=business_date)
    return promise

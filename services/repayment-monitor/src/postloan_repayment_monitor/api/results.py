"""Response bodies of repayment postings, reversals and restructurings (their stored answers, typed)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from postloan_common.contracts import Money
from postloan_common.web.openapi import DecimalText


class _Out(BaseModel):
    # The answer is stored and replayed for a retry: fields an older answer lacks or a newer one adds pass.
    model_config = ConfigDict(extra="allow")


class AllocationOut(_Out):
    """How the waterfall split the amount; `credit` is the overpayment kept as a credit balance."""

    penalty: Money
    fee: Money
    interest: Money
    principal: Money
    credit: Money


class AllocationLineOut(_Out):
    seq: int | None = Field(description="The installment paid; null for the overpayment kept as credit")
    component: str = Field(description="penalty | fee | interest | principal")
    amount: Money


class RepaymentOut(_Out):
    """A posted repayment: its allocation and the loan's state after it."""

    repayment_id: str
    loan_id: str
    amount: Money
    value_date: date
    posted_on: date
    allocation: AllocationOut
    lines: list[AllocationLineOut]
    outstanding_after: Money
    overdue_after: Money
    dpd_after: int
    bucket_after: str
    loan_status: str


class ReversalOut(_Out):
    """A reversed repayment and the loan's state recomputed without it."""

    repayment_id: str
    loan_id: str
    status: str = Field(description="reversed")
    reversed_on: date
    reason: str
    outstanding_after: Money
    overdue_after: Money
    dpd_after: int
    bucket_after: str
    loan_status: str


class RestructuredInstallmentOut(_Out):
    seq: int
    due_date: date
    principal: Money
    interest: Money
    fee: Money


class RestructuringOut(_Out):
    """A restructuring: what it replaced, the new installments and the loan's state after it."""

    restructure_id: str
    loan_id: str
    restructured_on: date
    posted_on: date
    reason: str
    outstanding_principal: Money
    annual_rate: DecimalText
    replaced_seqs: list[int]
    replaced_open: dict[str, Money] = Field(description="Open amount replaced, per component")
    arrears_folded: dict[str, Money] | None = Field(description="interest and fee folded into a terms schedule")
    penalty_waived: Money
    installments: list[RestructuredInstallmentOut]
    dpd_before: int
    bucket_before: str
    dpd_after: int
    bucket_after: str
    outstanding_after: Money
    overdue_after: Money
    loan_status: str

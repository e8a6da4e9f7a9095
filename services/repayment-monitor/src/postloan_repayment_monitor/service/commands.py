"""The commands of REST bodies and of core-banking events: one mapping for both entry points."""

from __future__ import annotations

from collections.abc import Sequence

from postloan_common.contracts import Installment, LoanBookedV1, LoanRestructuredV1
from postloan_common.contracts import Terms as TermsData
from postloan_repayment_monitor.domain.ledger import Scheduled
from postloan_repayment_monitor.service.booking_input import InstallmentIn, LoanIn, RestructuringIn, TermsIn
from postloan_repayment_monitor.service.intake import BookLoan, Terms
from postloan_repayment_monitor.service.restructure import Restructure

# The fields a body or event hands to its command as they are (the schedule and purpose are converted).
_BOOKED = {"loan_id", "customer_id", "product", "branch", "currency", "principal", "annual_rate", "disbursed_on"}
_RESTRUCTURED = {"restructure_id", "restructured_on", "reason", "outstanding_principal", "annual_rate"}


def schedule_given(
    installments: Sequence[InstallmentIn] | Sequence[Installment] | None,
) -> tuple[Scheduled, ...] | None:
    """The explicit schedule of a body or event; None when it gives terms instead."""
    if not installments:
        return None
    return tuple(Scheduled(i.seq, i.due_date, i.principal, i.interest, i.fee) for i in installments)


def terms_given(terms: TermsIn | TermsData | None) -> Terms | None:
    """The terms of a body or event to generate its schedule from; None when it gives the schedule."""
    return Terms(str(terms.method), terms.months, terms.first_due_date) if terms else None


def booking_command(body: LoanIn | LoanBookedV1) -> BookLoan:
    """The booking command of a POST /v1/loans body or a `loan-booked` event (the same payload)."""
    return BookLoan(
        **body.model_dump(include=_BOOKED),
        installments=schedule_given(body.installments),
        terms=terms_given(body.terms),
        purpose=body.purpose.value if body.purpose else None,
    )


def restructure_command(body: RestructuringIn | LoanRestructuredV1, *, loan_id: str) -> Restructure:
    """The restructuring command of a POST …/restructurings body or a `loan-restructured` event."""
    return Restructure(
        **body.model_dump(include=_RESTRUCTURED),
        loan_id=loan_id,
        installments=schedule_given(body.installments),
        terms=terms_given(body.terms),
    )

"""Reminder texts in zh-CN and en with the amount, the due date and the payment reference."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

SUPPORTED_LANGUAGES = ("zh-CN", "en")


@dataclass(frozen=True, slots=True)
class ReminderFacts:
    loan_id: str
    installment_seq: int
    amount: Decimal
    currency: str
    due_date: date
    payment_reference: str
    days_before_due: int


@dataclass(frozen=True, slots=True)
class Message:
    template: str
    language: str
    subject: str
    body: str


def template_name(days_before_due: int) -> str:
    """Reminders before the due date and on it read differently."""
    return "payment-due-today" if days_before_due == 0 else "payment-due-upcoming"


def _amount(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01')):,}"


def render_reminder(facts: ReminderFacts, *, language: str) -> Message:
    """The reminder for an installment in the customer's language (English when unsupported)."""
    name = template_name(facts.days_before_due)
    amount = f"{_amount(facts.amount)} {facts.currency}"
    if language == "zh-CN":
        due = f"{facts.due_date.year}年{facts.due_date.month}月{facts.due_date.day}日"
        when = "今天到期" if facts.days_before_due == 0 else f"将于{due}到期"
        subject = f"还款提醒：贷款 {facts.loan_id} 第{facts.installment_seq}期"
        body = (
            f"【还款提醒】您的贷款 {facts.loan_id} 第{facts.installment_seq}期应还 {amount}，{when}"
            f"（到期日 {facts.due_date.isoformat()}）。还款参考号：{facts.payment_reference}。如已还款，请忽略本提醒。"
        )
        return Message(name, "zh-CN", subject, body)
    when = "is due today" if facts.days_before_due == 0 else f"is due on {facts.due_date.isoformat()}"
    subject = f"Payment reminder: loan {facts.loan_id}, installment {facts.installment_seq}"
    body = (
        f"Payment reminder: installment {facts.installment_seq} of your loan {facts.loan_id}, {amount}, {when} "
        f"(due date {facts.due_date.isoformat()}). Payment reference: {facts.payment_reference}. "
        "If you have already paid, please ignore this message."
    )
    return Message(name, "en", subject, body)

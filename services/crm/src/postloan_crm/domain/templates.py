"""Reminder texts in zh-CN and en with the amount, the due date and the payment reference."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from postloan_common.money import quantize_money

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
    return f"{quantize_money(value):,}"


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


@dataclass(frozen=True, slots=True)
class DunningFacts:
    loan_id: str
    dpd: int
    overdue: Decimal
    currency: str


_DUNNING_ZH = {
    "dunning-overdue": (
        "逾期提醒：贷款 {loan}",
        "【逾期提醒】您的贷款 {loan} 已逾期 {dpd} 天，逾期金额 {amount}。请尽快还款。",
    ),
    "dunning-reminder": (
        "再次提醒：贷款 {loan} 已逾期",
        "【再次提醒】您的贷款 {loan} 已逾期 {dpd} 天，逾期金额 {amount}。请立即还款，以免影响您的信用记录。",
    ),
    "dunning-notice": (
        "催收通知书：贷款 {loan}",
        "催收通知书：您的贷款 {loan} 已逾期 {dpd} 天，逾期金额 {amount}。请于收到本通知后尽快还款或与我们联系。",
    ),
    "dunning-pre-call": (
        "来电预告：贷款 {loan}",
        "【来电预告】您的贷款 {loan} 已逾期 {dpd} 天，逾期金额 {amount}。我们的客户经理将致电与您沟通还款安排。",
    ),
}
_DUNNING_EN = {
    "dunning-overdue": (
        "Overdue payment: loan {loan}",
        "Your loan {loan} is {dpd} days past due; {amount} is overdue. Please pay as soon as you can.",
    ),
    "dunning-reminder": (
        "Second reminder: loan {loan} is overdue",
        "Your loan {loan} is {dpd} days past due; {amount} is overdue. Please pay now to protect your credit record.",
    ),
    "dunning-notice": (
        "Collection notice: loan {loan}",
        "Collection notice: your loan {loan} is {dpd} days past due; {amount} is overdue. "
        "Please pay or contact us as soon as you receive this notice.",
    ),
    "dunning-pre-call": (
        "We will call you: loan {loan}",
        "Your loan {loan} is {dpd} days past due; {amount} is overdue. A collector will call you to agree how to pay.",
    ),
}
DUNNING_TEMPLATES = tuple(_DUNNING_EN)


def render_dunning(facts: DunningFacts, *, template: str, language: str) -> Message:
    """A dunning step's message in the customer's language (English when unsupported)."""
    texts = _DUNNING_ZH if language == "zh-CN" else _DUNNING_EN
    subject, body = texts[template]
    values = {"loan": facts.loan_id, "dpd": facts.dpd, "amount": f"{_amount(facts.overdue)} {facts.currency}"}
    return Message(template, "zh-CN" if language == "zh-CN" else "en", subject.format(**values), body.format(**values))


_CARE_ZH = {
    "birthday": ("生日快乐", "祝您生日快乐！感谢您一直以来的信任与支持。"),
    "maturity": ("贷款即将到期", "您的贷款 {loan} 即将到期，感谢您按时还款。如需新的融资安排，欢迎随时联系我们。"),
    "hardship_follow_up": (
        "困难申请跟进",
        "我们想了解您近况的变化。如仍有还款困难，请回复或致电，我们会与您商量合适的安排。",
    ),
}
_CARE_EN = {
    "birthday": ("Happy birthday", "Happy birthday! Thank you for your trust."),
    "maturity": (
        "Your loan is maturing",
        "Your loan {loan} is about to mature; thank you for repaying on time. Talk to us whenever you need more.",
    ),
    "hardship_follow_up": (
        "Following up on your request",
        "We would like to hear how things are going. If paying is still hard, reply or call us to agree a plan.",
    ),
}
CARE_KINDS = tuple(_CARE_EN)


def render_care(kind: str, *, loan_id: str | None, language: str) -> Message:
    """A care touchpoint's message in the customer's language (English when unsupported)."""
    zh = language == "zh-CN"
    subject, body = (_CARE_ZH if zh else _CARE_EN)[kind]
    return Message(f"care-{kind}".replace("_", "-"), "zh-CN" if zh else "en", subject, body.format(loan=loan_id or ""))

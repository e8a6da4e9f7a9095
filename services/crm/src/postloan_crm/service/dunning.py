"""Dunning after the due date: at each close of day, plan the ladder step each overdue case has reached."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from aiokafka.partitioner import murmur2
from sqlalchemy.ext.asyncio import AsyncSession

from postloan_common.messaging.envelope import new_event_id
from postloan_crm.domain import dunning as rules
from postloan_crm.domain.contact_policy import Decision
from postloan_crm.domain.dunning import DunningStep, Ladder
from postloan_crm.domain.experiments import suppresses_dunning
from postloan_crm.domain.templates import DunningFacts, render_dunning
from postloan_crm.service.contact_checks import decide, history_days
from postloan_crm.service.customers import CustomerData, collection_consents, load_customers, recipients
from postloan_crm.service.policies import contact_histories, load_policies
from postloan_crm.service.reminders import AWAITING_CUSTOMER, DEFERRED, QUEUED, SUPPRESSED, decided_status
from postloan_crm.service.strategies import arm_ladders
from postloan_crm.store import dunning as dunning_rows
from postloan_crm.store import reminders as reminder_rows

KIND = "dunning"


async def load_ladders(session: AsyncSession) -> list[Ladder]:
    """Every ladder in force: the stored ones over the defaults."""
    stored = [
        Ladder(
            r["queue"],
            r["bucket"],
            tuple(DunningStep(int(s["dpd"]), str(s["channel"]), str(s["template"])) for s in r["steps"]),
        )
        for r in await dunning_rows.ladder_rows(session)
    ]
    return rules.merge_ladders(rules.default_ladders(), stored)


async def replace_ladders(session: AsyncSession, *, ladders: Sequence[Ladder], actor: str) -> None:
    """Store the given ladders (the others keep their current value)."""
    await dunning_rows.replace_ladder_rows(
        session,
        [
            {
                "queue": ladder.queue,
                "bucket": ladder.bucket,
                "steps": [{"dpd": s.dpd, "channel": s.channel, "template": s.template} for s in ladder.steps],
                "updated_by": actor,
            }
            for ladder in ladders
        ],
    )


def owns(loan_id: str, *, partition: int, partitions: int) -> bool:
    """Whether the loan's events travel on `partition` (the producer's default partitioner: murmur2 of the key)."""
    return (murmur2(loan_id.encode()) & 0x7FFFFFFF) % max(partitions, 1) == partition


async def plan_dunning(
    session: AsyncSession, *, business_date: date, partition: int, partitions: int, now: datetime
) -> list[dict[str, Any]]:
    """Plan the step reached on `business_date` by each overdue case of the partition's loans; return the rows.

    Planned on the day-closed copy of the loan's own partition, which follows every event of the loan's day,
    so the plan does not depend on which partition's copy crm reads first.
    """
    ladders = await load_ladders(session)
    by_arm = await arm_ladders(session)
    due: list[tuple[dict[str, Any], DunningStep, int]] = []
    for case in await dunning_rows.overdue_cases(session):
        if not owns(case["loan_id"], partition=partition, partitions=partitions):
            continue
        if rules.stop_reason(
            loan_status=case["loan_status"],
            dpd=case["dpd"],
            promise_active=case["promise_active"],
            holdout=suppresses_dunning(case["arm_role"]),
        ):
            continue
        arm_ladder = by_arm.get((case["experiment"], case["experiment_version"], case["arm"]))
        ladder = rules.ladder_for_case(ladders, queue=case["queue"], bucket=case["bucket"], arm_ladder=arm_ladder)
        dpd = rules.dpd_on(dpd=case["dpd"], as_of=case["as_of"], day=business_date)
        step = rules.next_step(ladder, dpd=dpd, sent=case["sent"]) if ladder else None
        if step is not None:
            due.append((case, step, dpd))
    if not due:
        return []
    customers = await load_customers(session, {case["customer_id"] for case, _, _ in due})
    verdict = await _verdicts(session, customers=customers, now=now)
    rows = [_row(case, step, dpd, customer=customers.get(case["customer_id"]), now=now) for case, step, dpd in due]
    for row in rows:
        customer = customers.get(row["customer_id"])
        status, reason = _initial_status(row, customer=customer, verdict=verdict)
        row.update(status=status, reason=reason, was_deferred=status == DEFERRED)
    await reminder_rows.insert_communications(session, rows)
    return rows


async def _verdicts(session: AsyncSession, *, customers: dict[str, CustomerData], now: datetime) -> Any:
    policies = await load_policies(session)
    histories = await contact_histories(
        session,
        customer_ids=customers,
        channels=("sms", "email", "app_push", "letter"),
        now=now,
        days=max(history_days(p) for p in policies) if policies else 1,
    )

    def verdict(customer: CustomerData, channel: str) -> Decision:
        history = histories.get((customer.customer_id, channel), ())
        return decide(policies, customer=customer, channel=channel, now=now, history=history)

    return verdict


def _row(
    case: dict[str, Any], step: DunningStep, dpd: int, *, customer: CustomerData | None, now: datetime
) -> dict[str, Any]:
    facts = DunningFacts(loan_id=case["loan_id"], dpd=dpd, overdue=case["overdue"], currency=case["currency"])
    message = render_dunning(facts, template=step.template, language=customer.language if customer else "zh-CN")
    return {
        "communication_id": str(new_event_id()),
        "customer_id": case["customer_id"],
        "loan_id": case["loan_id"],
        "case_id": case["case_id"],
        "kind": KIND,
        "step": step.dpd,
        "channel": step.channel,
        "recipient": None,
        "template": message.template,
        "language": message.language,
        "subject": message.subject,
        "body": message.body,
        "amount_due": case["overdue"],
        "currency": case["currency"],
        # One message per case and step, however often the day is closed or redelivered.
        "source_event_id": f"dunning:{case['case_id']}:{step.dpd}",
        "send_after": now,
    }


def _initial_status(row: dict[str, Any], *, customer: CustomerData | None, verdict: Any) -> tuple[str, str | None]:
    if customer is None:
        return QUEUED, AWAITING_CUSTOMER
    channel, recipient = rules.dunning_channel(
        str(row["channel"]), consents=collection_consents(customer), recipients=recipients(customer)
    )
    if channel is None:
        return SUPPRESSED, "no_contact_point"
    row.update(channel=channel, recipient=recipient)
    decision: Decision = verdict(customer, channel)
    return decided_status(row, decision)

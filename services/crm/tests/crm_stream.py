"""A seeded stream of the events crm consumes, played against a consumer, and crm's tables without run noise.

The stream follows a small book day by day the way repayment-monitor and risk-alert talk about it: loans
registered (some twice, some never), reminders before due dates, missed payments, bucket moves up and down,
payments (partial, back-valued, several a day) and reversals, cures, closings and write-offs, risk scores and
classifications, customers changing consents and language, redelivered events, and day-closed copies. Between
batches an agent makes promises on some open cases and the reminder sender runs, both decided only by the
state crm is in, so two plays of the same stream that keep crm's behaviour end in the same tables.
"""

from __future__ import annotations

import random
import re
import uuid
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal as D
from typing import Any

from crm_testkit import day_closed
from crm_testkit import loan as registered
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postloan_common.contracts import (
    ClassificationChangedV1,
    CustomerUpsertedV1,
    DelinquencyChangedV1,
    EventData,
    LoanClosedV1,
    LoanCuredV1,
    PaymentDueV1,
    PaymentMissedV1,
    PaymentReceivedV1,
    PaymentReversedV1,
    RiskScoreChangedV1,
    make_envelope,
)
from postloan_common.contracts.repayment import Allocation
from postloan_common.messaging.consumer import Consumer
from postloan_common.messaging.envelope import Envelope
from postloan_crm.adapters.channels import Outgoing
from postloan_crm.domain.contact_policy import ContactPolicy
from postloan_crm.service.cases import open_case
from postloan_crm.service.events import Trace
from postloan_crm.service.policies import replace_policies
from postloan_crm.service.promises import make_promise
from postloan_crm.service.reminder_sending import send_due
from postloan_crm.store.tables import agents, promises
from postloan_dev.testing import consumer_records

CUSTOMERS, LOANS, RISK = "core-banking.customers", "repayment.loans", "risk.scores"
ZERO = D("0.00")
BUCKETS = ("M0", "M1", "M2", "M3", "M4", "M5", "M6", "M6+")
_GENERATED = re.compile(r"(CASE|PTP)-[0-9a-f]+")
_IDS = uuid.UUID("0b6a8f0e-3c55-4f1e-9d56-2f1f3f0c9a11")
ZONES = ("Asia/Shanghai", "Asia/Shanghai", "America/New_York", "Europe/London")


@dataclass
class Day:
    """One business day: the consumer's clock, and the polled batches in the order they are applied."""

    on: date
    now: datetime
    batches: list[tuple[str, list[Envelope]]] = field(default_factory=list)


@dataclass
class _Loan:
    loan_id: str
    customer_id: str
    first_due: date
    dpd: int = 0
    bucket: str = "M0"
    open: bool = True
    paid: list[Envelope] = field(default_factory=list)


def _env(data: EventData, subject: str, on: date | None, source: str = "repayment-monitor") -> Envelope:
    return make_envelope(data=data, source=source, subject=subject, business_date=on)


def _loan_env(model: type[EventData], loan: _Loan, on: date, **data: Any) -> Envelope:
    """An event of `model` about `loan` on business day `on`."""
    return _env(model(loan_id=loan.loan_id, customer_id=loan.customer_id, **data), loan.loan_id, on)


def _money(rng: random.Random, low: int, high: int) -> D:
    return D(rng.randint(low * 100, high * 100)) / 100


def _customer(rng: random.Random, customer_id: str, *, revision: int) -> Envelope:
    consents = None
    if rng.random() < 0.4:
        consents = [
            {"channel": channel, "granted": rng.random() < 0.5, "purpose": purpose}
            for channel in rng.sample(["sms", "email", "app_push"], rng.randint(1, 3))
            for purpose in ("collection", "care")
        ]
    data: dict[str, Any] = {
        "customer_id": customer_id,
        "name": f"Customer {customer_id} r{revision}",
        "national_id": f"11010119900307{rng.randint(1000, 9999)}",
        "phones": [{"number": f"+86138{rng.randint(10_000_000, 99_999_999)}", "kind": "mobile"}]
        if rng.random() < 0.8
        else [],
        "emails": [f"{customer_id.lower()}@example.com"] if rng.random() < 0.7 else [],
        "timezone": rng.choice(ZONES),
        "language": rng.choice(["zh-CN", "en"]),
        "birth_date": date(1980 + rng.randint(0, 20), 3, rng.randint(1, 28)).isoformat(),
        "consents": consents,
    }
    if rng.random() < 0.3:
        data["address"] = {"line1": "1 Main St", "city": "Springfield", "country": rng.choice(["US", "CN"])}
    if rng.random() < 0.2:
        data["related_parties"] = [{"name": "Li Si", "relation": "spouse", "phones": [{"number": "+8613900000000"}]}]
    return _env(CustomerUpsertedV1.model_validate(data), customer_id, None, source="core-banking")


def _registered(loan: _Loan, on: date) -> Envelope:
    last_due = loan.first_due + timedelta(days=60)
    return registered(
        loan.loan_id, loan.customer_id, on=on, disbursed=on - timedelta(days=20), due=(loan.first_due, last_due)
    )


def stream(
    seed: int, *, customers: int = 30, loans: int = 60, days: int = 24, start: date = date(2026, 3, 2)
) -> list[Day]:
    """The seeded stream: one Day per business day from `start`."""
    rng = random.Random(seed)
    customer_ids = [f"C-{i:03d}" for i in range(customers)]
    book = [
        _Loan(f"L-{i:03d}", rng.choice(customer_ids), start + timedelta(days=rng.randint(0, days // 2)))
        for i in range(loans)
    ]
    played: list[Day] = []
    for offset in range(days):
        on = start + timedelta(days=offset)
        # Mostly office hours in Shanghai; some days late in the evening there, when quiet hours defer reminders.
        hour = rng.choice([2, 2, 6, 15])
        day = Day(on, datetime.combine(on, time(hour, 30), tzinfo=UTC))
        if offset == 0:
            # A few customers are never told of: their reminders wait for them.
            known = [c for c in customer_ids if rng.random() < 0.9]
            day.batches.append((CUSTOMERS, [_customer(rng, c, revision=0) for c in known]))
        elif rng.random() < 0.3:
            changed = rng.sample(customer_ids, 3)
            changed += changed[:2]  # told twice in one batch: the last of what each record gives wins
            day.batches.append((CUSTOMERS, [_customer(rng, c, revision=offset) for c in changed]))
        events = _loan_events(rng, book, on, first_day=offset == 0)
        for chunk in _polled(rng, events):
            day.batches.append((LOANS, chunk))
        risk = _risk_events(rng, book)
        if risk:
            day.batches.append((RISK, risk))
        day.batches.append((LOANS, [_day_closed(on, 0), _day_closed(on, 1)]))
        played.append(day)
    return _numbered(seed, played)


def _numbered(seed: int, days: list[Day]) -> list[Day]:
    """The same stream with event ids and times that derive from the seed (a redelivered event keeps its id)."""
    ids: dict[uuid.UUID, uuid.UUID] = {}
    for day in days:
        at = datetime.combine(day.on, time(1), tzinfo=UTC)
        day.batches = [
            (
                topic,
                [
                    e.model_copy(
                        update={"id": ids.setdefault(e.id, uuid.uuid5(_IDS, f"{seed}:{len(ids)}")), "time": at}
                    )
                    for e in envelopes
                ],
            )
            for topic, envelopes in day.batches
        ]
    return days


def _polled(rng: random.Random, events: list[Envelope]) -> list[list[Envelope]]:
    """The events as a consumer may poll them: sometimes in one batch, sometimes in a few; some delivered twice."""
    if rng.random() < 0.2 and events:
        events = [*events, rng.choice(events)]
    if rng.random() < 0.5 or len(events) < 4:
        return [events] if events else []
    cut = sorted(rng.sample(range(1, len(events)), 2))
    return [chunk for chunk in (events[: cut[0]], events[cut[0] : cut[1]], events[cut[1] :]) if chunk]


def _loan_events(rng: random.Random, book: list[_Loan], on: date, *, first_day: bool) -> list[Envelope]:
    by_type: dict[str, list[Envelope]] = {}

    def add(envelope: Envelope) -> None:
        by_type.setdefault(envelope.type, []).append(envelope)

    for loan in book:
        if first_day and rng.random() < 0.95:
            add(_registered(loan, on))
            if rng.random() < 0.05:
                add(_registered(loan, on))  # told twice in one batch
        if not loan.open:
            continue
        for seq in range(1, 4):
            due_date = loan.first_due + timedelta(days=30 * (seq - 1))
            days_before = (due_date - on).days
            if days_before in (7, 3, 1, 0):
                amount = ZERO if rng.random() < 0.05 else _money(rng, 500, 1100)
                add(_due(loan, seq, due_date, amount, days_before, on))
            if days_before == -1 and rng.random() < 0.5:
                loan.dpd = max(loan.dpd, 1)
                loan.bucket = "M1" if loan.bucket == "M0" else loan.bucket
                add(_missed(loan, seq, due_date, on))
        if loan.dpd > 0:
            loan.dpd += 1
            roll = rng.random()
            if roll < 0.15:
                frm = loan.bucket
                loan.bucket = BUCKETS[min(BUCKETS.index(loan.bucket) + rng.randint(1, 3), len(BUCKETS) - 1)]
                loan.dpd = max(loan.dpd, 30 * (BUCKETS.index(loan.bucket) - 1) + 1)
                if loan.bucket == "M6+":
                    loan.dpd = max(loan.dpd, 181)
                add(_moved(loan, frm, on))
            elif roll < 0.22:
                frm = loan.bucket
                loan.bucket = BUCKETS[max(BUCKETS.index(loan.bucket) - 1, 0)]
                loan.dpd = 0 if loan.bucket == "M0" else max(1, loan.dpd - 30)
                add(_moved(loan, frm, on))
            elif roll < 0.3:
                add(_cured(loan, on))
                loan.dpd, loan.bucket = 0, "M0"
        for _ in range(rng.choice([0, 0, 0, 0, 1, 2])):
            value_date = on - timedelta(days=rng.choice([0, 0, 1, 3]))
            received = _received(rng, loan, on, value_date)
            loan.paid.append(received)
            add(received)
        if loan.paid and rng.random() < 0.04:
            add(_reversed(loan, loan.paid.pop(rng.randrange(len(loan.paid))), on))
        if rng.random() < (0.06 if loan.dpd > 60 else 0.01):
            add(_closed(loan, on, "written_off" if loan.dpd > 60 else "paid_off"))
            loan.open = False
    order = ["loan-registered", "payment-missed", "payment-due", "delinquency-changed", "payment-received"]
    order += ["payment-reversed", "loan-cured", "loan-closed"]
    if rng.random() < 0.6:  # grouped by type, as a close of day writes them
        return [e for name in order for e in by_type.get(name, [])]
    mixed = [e for events in by_type.values() for e in events]
    registered = [e for e in mixed if e.type == "loan-registered"]
    rest = [e for e in mixed if e.type != "loan-registered"]
    rng.shuffle(rest)
    return registered + rest


def _due(loan: _Loan, seq: int, due_date: date, amount: D, days_before: int, on: date) -> Envelope:
    return _loan_env(
        PaymentDueV1,
        loan,
        on,
        installment_seq=seq,
        due_date=due_date,
        amount_due=amount,
        currency="CNY",
        days_before_due=days_before,
        payment_reference=f"PAY-{loan.loan_id}-{seq}",
    )


def _missed(loan: _Loan, seq: int, due_date: date, on: date) -> Envelope:
    return _loan_env(
        PaymentMissedV1,
        loan,
        on,
        installment_seq=seq,
        due_date=due_date,
        amount_overdue=D("1020.00"),
        currency="CNY",
        dpd=loan.dpd,
        bucket=loan.bucket,
    )


def _moved(loan: _Loan, frm: str, on: date) -> Envelope:
    return _loan_env(
        DelinquencyChangedV1,
        loan,
        on,
        from_bucket=frm,
        to_bucket=loan.bucket,
        dpd=loan.dpd,
        overdue_amount=D(1020 * max(1, BUCKETS.index(loan.bucket))),
        outstanding=D("2000.00"),
        currency="CNY",
    )


def _cured(loan: _Loan, on: date) -> Envelope:
    return _loan_env(
        LoanCuredV1,
        loan,
        on,
        cured_on=on,
        from_bucket=loan.bucket,
        previous_dpd=loan.dpd,
        outstanding=D("1000.00"),
        currency="CNY",
    )


def _received(rng: random.Random, loan: _Loan, on: date, value_date: date) -> Envelope:
    amount = _money(rng, 100, 1500)
    return _loan_env(
        PaymentReceivedV1,
        loan,
        on,
        repayment_id=f"R-{loan.loan_id}-{rng.randint(0, 10**9)}",
        amount=amount,
        currency="CNY",
        value_date=value_date,
        allocation=Allocation(penalty=ZERO, fee=ZERO, interest=ZERO, principal=amount, credit=ZERO),
        outstanding_after=D("1000.00"),
        overdue_after=D("0.00") if loan.dpd == 0 else D("500.00"),
        dpd_after=loan.dpd,
        bucket_after=loan.bucket,
    )


def _reversed(loan: _Loan, received: Envelope, on: date) -> Envelope:
    return _loan_env(
        PaymentReversedV1,
        loan,
        on,
        repayment_id=received.data["repayment_id"],
        amount=D(received.data["amount"]),
        currency="CNY",
        value_date=date.fromisoformat(received.data["value_date"]),
        reversed_on=on,
        reason="bounced",
        outstanding_after=D("1500.00"),
        overdue_after=D("700.00"),
        dpd_after=loan.dpd,
        bucket_after=loan.bucket,
    )


def _closed(loan: _Loan, on: date, reason: str) -> Envelope:
    return _loan_env(LoanClosedV1, loan, on, closed_on=on, reason=reason)


def _day_closed(on: date, partition: int) -> Envelope:
    return day_closed(on, partition, partitions=2, loans_processed=0, subject=f"day-{on.isoformat()}-{partition}")


def _risk_events(rng: random.Random, book: list[_Loan]) -> list[Envelope]:
    events: list[Envelope] = []
    for loan in rng.sample(book, len(book) // 5):
        for _ in range(rng.choice([1, 1, 2])):
            if rng.random() < 0.7:
                data: EventData = RiskScoreChangedV1(
                    loan_id=loan.loan_id,
                    customer_id=loan.customer_id,
                    score=rng.randint(300, 800),
                    pd=D(rng.randint(1, 60)) / 100,
                    grade=rng.choice("ABCDE"),
                    model_version="bhv-1",
                    reason_codes=tuple(rng.sample(["dpd_max_3m", "paid_ratio", "broken_ptp"], rng.randint(0, 2))),
                )
            else:
                data = ClassificationChangedV1(
                    loan_id=loan.loan_id,
                    customer_id=loan.customer_id,
                    to_classification=rng.choice(["normal", "special_mention", "substandard", "doubtful"]),
                    ifrs9_stage=rng.choice([1, 2, 3]),
                    ecl=_money(rng, 1, 300),
                    dpd=loan.dpd,
                    reason="dpd_floor",
                )
            events.append(_env(data, loan.loan_id, None, source="risk-alert"))
    return events


class _Recorder:
    async def send(self, message: Outgoing) -> str | None:
        return f"prov-{message.key}"


async def prepare(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Agents with unequal queues and room, and caps on reminders so that sent ones count."""
    async with sessions.begin() as session:
        await session.execute(
            agents.insert(),
            [
                {"agent_id": "a-phone", "name": "a", "queues": ["phone"], "capacity": None, "active": True},
                {"agent_id": "b-phone", "name": "b", "queues": ["phone", "senior"], "capacity": 3, "active": True},
                {"agent_id": "c-senior", "name": "c", "queues": ["senior"], "capacity": None, "active": True},
                {"agent_id": "d-field", "name": "d", "queues": ["field", "recovery"], "capacity": 2, "active": True},
                {"agent_id": "e-gone", "name": "e", "queues": ["phone"], "capacity": None, "active": False},
            ],
        )
        await replace_policies(
            session,
            policies=[
                ContactPolicy("CN", "sms", time(22, 0), time(8, 0), max_per_day=1),
                ContactPolicy("US", "email", time(21, 0), time(8, 0), max_per_window=2, window_days=3),
            ],
            actor="stream",
        )


async def play(
    days: Sequence[Day],
    *,
    consumer: Consumer,
    sessions: async_sessionmaker[AsyncSession],
    set_clock: Callable[[datetime], None],
    poison: Callable[[], Envelope] | None = None,
) -> None:
    """Apply the stream batch by batch (each with `poison` appended); promises and reminder sends in between."""
    offsets: dict[str, int] = {}
    for day in days:
        set_clock(day.now)
        for topic, envelopes in day.batches:
            applied = [*envelopes, poison()] if poison is not None else envelopes
            start = offsets.get(topic, 0)
            offsets[topic] = start + len(applied)
            await consumer.apply_batch(consumer_records(topic, applied, start))
            if topic == LOANS:
                await _promise_on_some_cases(sessions, day.on)
        await send_due(
            sessions, senders={"sms": _Recorder(), "email": _Recorder(), "app_push": _Recorder()}, now=day.now
        )


async def _promise_on_some_cases(sessions: async_sessionmaker[AsyncSession], on: date) -> None:
    async with sessions.begin() as session:
        rows = await session.execute(
            text("SELECT loan_id FROM cases WHERE status = 'open' ORDER BY loan_id"),
        )
        promised = set((await session.execute(select(promises.c.loan_id).where(promises.c.status == "open"))).scalars())
        for (loan_id,) in rows.all():
            if loan_id in promised or zlib.crc32(f"{loan_id}{on}".encode()) % 7:
                continue
            case = await open_case(session, loan_id)
            assert case is not None
            await make_promise(
                session,
                case=case,
                amount=D("300.00") + D(zlib.crc32(loan_id.encode()) % 500),
                promised_date=on + timedelta(days=2),
                made_on=on,
                agent_id="a-phone",
                interaction_id=None,
                trace=Trace(business_date=on, correlation_id=f"ptp-{loan_id}-{on}"),
            )


async def tables(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """crm's state without what legitimately differs between plays: times, generated ids, arrival numbering."""
    async with sessions() as session:

        async def rows(sql: str) -> list[dict[str, Any]]:
            return [dict(r) for r in (await session.execute(text(sql))).mappings()]

        opened = await rows(
            "SELECT e.case_id, c.loan_id FROM case_events e JOIN cases c USING (case_id) WHERE e.kind = 'opened' ORDER BY e.id"
        )
        case_key: dict[str, str] = {}
        seen: dict[str, int] = {}
        for row in opened:
            seen[row["loan_id"]] = seen.get(row["loan_id"], 0) + 1
            case_key[row["case_id"]] = f"{row['loan_id']}#{seen[row['loan_id']]}"
        promise_rows = await rows("SELECT * FROM promises ORDER BY loan_id, created_at")
        promise_key: dict[str, str] = {}
        for p in promise_rows:
            promise_key[p["promise_id"]] = (
                f"{p['loan_id']}~{sum(k.startswith(p['loan_id'] + '~') for k in promise_key.values()) + 1}"
            )
        keys = case_key | promise_key

        def plain(row: dict[str, Any], *drop: str) -> dict[str, Any]:
            return {k: _key(v, keys) for k, v in row.items() if k not in drop and k not in ("created_at", "updated_at")}

        state: dict[str, Any] = {
            "loans": await rows("SELECT * FROM loans ORDER BY loan_id"),
            "installments_due": await rows("SELECT * FROM installments_due ORDER BY loan_id, seq"),
            "risk": await rows("SELECT * FROM risk ORDER BY loan_id"),
            "customers": await rows("SELECT * FROM customers ORDER BY customer_id"),
            "contact_points": await rows("SELECT * FROM contact_points ORDER BY customer_id, kind, position"),
            "consents": await rows("SELECT * FROM consents ORDER BY customer_id, channel, purpose"),
            "related_parties": await rows("SELECT * FROM related_parties ORDER BY customer_id, id"),
            "care_touchpoints": await rows("SELECT * FROM care_touchpoints ORDER BY customer_id, kind, due_on"),
            "business_calendar": await rows("SELECT * FROM business_calendar"),
            "communications": await rows("SELECT * FROM communications ORDER BY source_event_id"),
            "promises": promise_rows,
        }
        drops = {"loans": (), "communications": ("communication_id", "provider_message_id")}
        for name in list(state):
            state[name] = [plain(r, "id", *drops.get(name, ())) for r in state[name]]
        state["cases"] = sorted((plain(r) for r in await rows("SELECT * FROM cases")), key=lambda r: str(r["case_id"]))
        timeline: dict[str, list[dict[str, Any]]] = {}
        for r in await rows("SELECT * FROM case_events ORDER BY id"):
            timeline.setdefault(case_key.get(r["case_id"], r["case_id"]), []).append(plain(r, "id", "at", "case_id"))
        state["case_events"] = dict(sorted(timeline.items()))
        activities: dict[str, list[dict[str, Any]]] = {}
        for r in await rows("SELECT key, event_type, payload FROM outbox WHERE topic = 'crm.activities' ORDER BY id"):
            envelope = Envelope.from_bytes(bytes(r["payload"]))
            data = {k: _key(v, keys) for k, v in envelope.data.items() if k != "reminder_id"}
            traced = envelope.type != "reminder-sent"
            activities.setdefault(r["key"], []).append(
                {
                    "type": envelope.type,
                    "business_date": envelope.business_date,
                    "correlation_id": envelope.correlation_id if traced else None,
                    "causation_id": envelope.causation_id if traced else None,
                    "data": data,
                }
            )
        # The sender's order among reminders due at the same instant is the database's; the rest keeps event order.
        state["activities"] = {
            key: [e for e in events if e["type"] != "reminder-sent"]
            + sorted((e for e in events if e["type"] == "reminder-sent"), key=repr)
            for key, events in sorted(activities.items())
        }
        state["dead_letters"] = await rows("SELECT event_type FROM outbox WHERE topic LIKE '%.dlt' ORDER BY id")
    return state


def _key(value: Any, keys: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _GENERATED.sub(lambda m: keys.get(m.group(0), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _key(v, keys) for k, v in value.items()}
    if isinstance(value, list):
        return [_key(v, keys) for v in value]
    return value

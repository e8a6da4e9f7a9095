"""Dunning after the due date: a ladder of steps at DPD offsets per queue and bucket, and when it stops."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

DUNNING_CHANNELS = ("sms", "email", "app_push", "letter")
# A ladder for every bucket of its queue.
ANY_BUCKET = "*"
PHONE_QUEUES = ("phone", "senior", "field")


@dataclass(frozen=True, slots=True)
class DunningStep:
    """One rung: at `dpd` days past due, a message on `channel` worded by `template`."""

    dpd: int
    channel: str
    template: str


@dataclass(frozen=True, slots=True)
class Ladder:
    """The steps of a queue (and bucket, or every bucket) in DPD order."""

    queue: str
    bucket: str
    steps: tuple[DunningStep, ...]


def default_ladders() -> list[Ladder]:
    """The defaults of docs/domain.md: SMS 1, e-mail 3, SMS 7, letter 15 (automated); a pre-call SMS (phone queues)."""
    automated = Ladder(
        "automated",
        ANY_BUCKET,
        (
            DunningStep(1, "sms", "dunning-overdue"),
            DunningStep(3, "email", "dunning-overdue"),
            DunningStep(7, "sms", "dunning-reminder"),
            DunningStep(15, "letter", "dunning-notice"),
        ),
    )
    phones = [Ladder(q, ANY_BUCKET, (DunningStep(1, "sms", "dunning-pre-call"),)) for q in PHONE_QUEUES]
    return [automated, *phones]


def merge_ladders(defaults: Iterable[Ladder], stored: Iterable[Ladder]) -> list[Ladder]:
    """Stored ladders replace the defaults of the same (queue, bucket); the rest stay."""
    merged = {(ladder.queue, ladder.bucket): ladder for ladder in defaults}
    merged.update({(ladder.queue, ladder.bucket): ladder for ladder in stored})
    return sorted(merged.values(), key=lambda ladder: (ladder.queue, ladder.bucket))


def ladder_for(ladders: Sequence[Ladder], *, queue: str, bucket: str) -> Ladder | None:
    """The queue's ladder for the bucket, else the queue's ladder for every bucket, else None (no dunning)."""
    by_key: Mapping[tuple[str, str], Ladder] = {(ladder.queue, ladder.bucket): ladder for ladder in ladders}
    return by_key.get((queue, bucket)) or by_key.get((queue, ANY_BUCKET))


def ladder_for_case(ladders: Sequence[Ladder], *, queue: str, bucket: str, arm_ladder: Ladder | None) -> Ladder | None:
    """The ladder a case climbs: its experiment arm's own ladder in every queue and bucket, else the queue's."""
    return arm_ladder if arm_ladder is not None else ladder_for(ladders, queue=queue, bucket=bucket)


def stop_reason(*, loan_status: str | None, dpd: int | None, promise_active: bool, holdout: bool = False) -> str | None:
    """Why dunning stops for the loan now (closed, paid up to date, promise active, its case in a strategy's
    hold-out control arm), or None while it goes on."""
    if holdout:
        return "holdout"
    if loan_status is not None and loan_status != "active":
        return "loan_closed"
    if not dpd or dpd <= 0:
        return "loan_paid"
    if promise_active:
        return "promise_active"
    return None


def next_step(ladder: Ladder, *, dpd: int, sent: Iterable[int]) -> DunningStep | None:
    """The step reached at `dpd` (the highest offset not beyond it) unless it was already planned.

    A case that enters a ladder late gets the step it has reached, not every step it skipped.
    """
    reached = [step for step in ladder.steps if step.dpd <= dpd]
    if not reached:
        return None
    step = max(reached, key=lambda s: s.dpd)
    return None if step.dpd in set(sent) else step


def dpd_on(*, dpd: int, as_of: date | None, day: date) -> int:
    """DPD on `day` of a loan that was `dpd` days past due on `as_of` and has paid nothing since (one a day)."""
    if dpd <= 0 or as_of is None or day <= as_of:
        return dpd
    return dpd + (day - as_of).days


def dunning_channel(
    step_channel: str, *, consents: Mapping[str, bool], recipients: Mapping[str, str | None]
) -> tuple[str | None, str | None]:
    """(channel, recipient) of a step: its own channel when not refused and reachable, else SMS, push, e-mail."""
    for channel in dict.fromkeys((step_channel, "sms", "app_push", "email")):
        if consents.get(channel) is False:
            continue
        recipient = recipients.get(channel)
        if recipient:
            return channel, recipient
    return None, None

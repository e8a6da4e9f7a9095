"""Contact rules: quiet hours in the customer's time zone, daily and rolling caps, opt-outs.

Defaults follow docs/domain.md: China (GB/T 45251—2025) — no contact 22:00–08:00 local, at most 3 connected
calls per debtor per day; US profile — contact only 08:00–21:00 local, at most 7 call attempts in 7 days.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Counting(StrEnum):
    """What a cap counts: every attempt, or only the contacts that connected."""

    ATTEMPTS = "attempts"
    CONNECTED = "connected"


class Rule(StrEnum):
    OPT_OUT = "opt_out"
    QUIET_HOURS = "quiet_hours"
    DAILY_CAP = "daily_cap"
    WINDOW_CAP = "window_cap"


@dataclass(frozen=True, slots=True)
class ContactPolicy:
    """The contact rules of one channel in one jurisdiction."""

    jurisdiction: str
    channel: str
    quiet_start: time | None = None  # no contact from quiet_start …
    quiet_end: time | None = None  # … until quiet_end (may wrap past midnight)
    max_per_day: int | None = None  # per local calendar day
    max_per_window: int | None = None  # per rolling window of window_days
    window_days: int = 7
    counting: Counting = Counting.ATTEMPTS


@dataclass(frozen=True, slots=True)
class PastContact:
    at: datetime
    connected: bool = True


@dataclass(frozen=True, slots=True)
class Decision:
    """`allowed`; else `rule` names why, and `until` is the next instant it may be allowed (None: never)."""

    allowed: bool
    rule: Rule | None = None
    until: datetime | None = None
    detail: str = ""

    @property
    def deferrable(self) -> bool:
        """Whether waiting until `until` can make the contact allowed."""
        return not self.allowed and self.until is not None


ALLOWED = Decision(allowed=True)
# The jurisdictions with a contact-rule profile (docs/domain.md); a customer without one is under CN's rules.
JURISDICTIONS = ("CN", "US")
DEFAULT_JURISDICTION = "CN"

_PHONE_CHANNELS = ("phone",)
_MESSAGE_CHANNELS = ("sms", "email", "app_push", "wechat")


def default_policies() -> list[ContactPolicy]:
    """the defaults of docs/domain.md: CN for every channel, the US profile as the alternative."""
    cn_quiet = (time(22, 0), time(8, 0))
    us_quiet = (time(21, 0), time(8, 0))
    policies = [
        ContactPolicy("CN", "phone", *cn_quiet, max_per_day=3, counting=Counting.CONNECTED),
        ContactPolicy("US", "phone", *us_quiet, max_per_window=7, window_days=7, counting=Counting.ATTEMPTS),
    ]
    for channel in _MESSAGE_CHANNELS:
        policies.append(ContactPolicy("CN", channel, *cn_quiet))
        policies.append(ContactPolicy("US", channel, *us_quiet))
    return policies


def in_quiet_hours(policy: ContactPolicy, local: datetime) -> bool:
    """Whether the local wall-clock time falls in the policy's quiet hours."""
    start, end = policy.quiet_start, policy.quiet_end
    if start is None or end is None or start == end:
        return False
    now = local.timetz().replace(tzinfo=None)
    if start < end:
        return start <= now < end
    return now >= start or now < end


def quiet_hours_end(policy: ContactPolicy, local: datetime) -> datetime:
    """The first instant at or after `local` outside quiet hours (in the same zone)."""
    if not in_quiet_hours(policy, local):
        return local
    assert policy.quiet_start is not None
    assert policy.quiet_end is not None
    day = local.date()
    if policy.quiet_start > policy.quiet_end and local.timetz().replace(tzinfo=None) >= policy.quiet_start:
        day += timedelta(days=1)  # evening part of a window that ends tomorrow morning
    end = datetime.combine(day, policy.quiet_end, tzinfo=local.tzinfo)
    # Through UTC so a wall-clock time in a DST gap becomes a real instant.
    return end.astimezone(UTC).astimezone(local.tzinfo)


def next_local_day(policy: ContactPolicy, local: datetime) -> datetime:
    """The first allowed instant of the next local calendar day."""
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo)
    return quiet_hours_end(policy, midnight.astimezone(UTC).astimezone(local.tzinfo))


def evaluate(
    policy: ContactPolicy,
    *,
    timezone: str,
    now: datetime,
    history: Iterable[PastContact] = (),
    opted_out: bool = False,
    counts: bool = True,
) -> Decision:
    """Decide whether contacting now is allowed; `counts` says whether this contact counts against caps."""
    if now.tzinfo is None:
        raise ValueError("now must carry a time zone")
    if opted_out:
        return Decision(False, Rule.OPT_OUT, None, f"the customer opted out of {policy.channel}")
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if in_quiet_hours(policy, local):
        until = quiet_hours_end(policy, local)
        return Decision(
            False,
            Rule.QUIET_HOURS,
            until.astimezone(UTC),
            f"{local:%H:%M} {timezone} is within quiet hours {policy.quiet_start:%H:%M}–{policy.quiet_end:%H:%M}",
        )
    if not counts:
        return ALLOWED
    counted = [c for c in history if policy.counting is Counting.ATTEMPTS or c.connected]
    if policy.max_per_day is not None:
        today = [c for c in counted if c.at.astimezone(zone).date() == local.date()]
        if len(today) >= policy.max_per_day:
            return Decision(
                False,
                Rule.DAILY_CAP,
                next_local_day(policy, local).astimezone(UTC),
                f"{len(today)} {policy.counting.value} {policy.channel} contacts today reach the cap of "
                f"{policy.max_per_day} per day",
            )
    if policy.max_per_window is not None:
        window = timedelta(days=policy.window_days)
        recent = sorted(c.at for c in counted if now - window < c.at <= now)
        if len(recent) >= policy.max_per_window:
            # The window frees up when enough old contacts fall out of it.
            frees_at = recent[len(recent) - policy.max_per_window] + window
            until = quiet_hours_end(policy, frees_at.astimezone(zone)).astimezone(UTC)
            return Decision(
                False,
                Rule.WINDOW_CAP,
                until,
                f"{len(recent)} {policy.counting.value} {policy.channel} contacts in {policy.window_days} days "
                f"reach the cap of {policy.max_per_window}",
            )
    return ALLOWED


def policy_for(policies: Sequence[ContactPolicy], *, jurisdiction: str, channel: str) -> ContactPolicy:
    """The policy of a jurisdiction and channel; CN's when the jurisdiction has none; none: no rules."""
    for wanted in (jurisdiction, DEFAULT_JURISDICTION):
        for policy in policies:
            if policy.jurisdiction == wanted and policy.channel == channel:
                return policy
    return ContactPolicy(jurisdiction, channel)


def is_phone(channel: str) -> bool:
    """Whether the channel is a voice call."""
    return channel in _PHONE_CHANNELS

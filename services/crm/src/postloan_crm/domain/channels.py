"""Which channel a reminder goes out on: the preferred one if it is consented and reachable, else a fallback."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

REMINDER_CHANNELS = ("sms", "email", "app_push")
FALLBACK_ORDER = ("sms", "app_push", "email")


@dataclass(frozen=True, slots=True)
class ChannelChoice:
    channel: str | None
    recipient: str | None
    reason: str | None = None  # why no channel could be chosen


def opted_out(consents: Mapping[str, bool], channel: str) -> bool:
    """Opt-outs are explicit refusals; no record means the contractual consent to reminders stands."""
    return consents.get(channel) is False


def choose_channel(
    *,
    preferred: str | None,
    consents: Mapping[str, bool],
    recipients: Mapping[str, str | None],
    order: Sequence[str] = FALLBACK_ORDER,
) -> ChannelChoice:
    """Pick the first channel, preferred first, that is not opted out and has somewhere to send to."""
    candidates = [preferred, *order] if preferred in REMINDER_CHANNELS else list(order)
    refused = False
    for channel in dict.fromkeys(candidates):
        assert channel is not None
        if opted_out(consents, channel):
            refused = True
            continue
        recipient = recipients.get(channel)
        if recipient:
            return ChannelChoice(channel, recipient)
    return ChannelChoice(None, None, "opt_out" if refused else "no_contact_point")

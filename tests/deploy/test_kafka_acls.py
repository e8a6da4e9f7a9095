"""The compose broker's ACLs grant each principal exactly what the catalog says it consumes and produces."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from postloan_common.catalog import (
    CONSUMES,
    CORE_BANKING_CUSTOMERS,
    CORE_BANKING_LOANS,
    CRM_ACTIVITIES,
    REPAYMENT_LOANS,
    RISK_SCORES,
    SERVICES,
    dead_letter_topic,
)

ACLS = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "acls.sh"
# The one topic each principal publishes; core banking is the bank, outside the platform.
OWN_TOPICS = {
    "core-banking": {CORE_BANKING_LOANS, CORE_BANKING_CUSTOMERS},
    "repayment-monitor": {REPAYMENT_LOANS},
    "risk-alert": {RISK_SCORES},
    "crm": {CRM_ACTIVITIES},
    "reporting": set(),
}


def _grants() -> tuple[dict[str, set[str]], dict[str, set[str]], set[str]]:
    writes: dict[str, set[str]] = defaultdict(set)
    reads: dict[str, set[str]] = defaultdict(set)
    groups: set[str] = set()
    for line in ACLS.read_text().splitlines():
        if match := re.fullmatch(r"(write|read_) (\S+) (\S+)", line.strip()):
            verb, principal, topic = match.groups()
            (writes if verb == "write" else reads)[principal].add(topic)
        elif match := re.fullmatch(r"group (\S+)", line.strip()):
            groups.add(match.group(1))
    return writes, reads, groups


def test_only_core_banking_writes_the_core_banking_topics() -> None:
    writes, _reads, _groups = _grants()
    writers = {p for p, topics in writes.items() if topics & {CORE_BANKING_LOANS, CORE_BANKING_CUSTOMERS}}
    assert writers == {"core-banking"}


def test_each_service_writes_its_own_topic_and_the_dead_letters_of_what_it_consumes() -> None:
    writes, reads, groups = _grants()
    for spec in SERVICES:
        consumed = set(CONSUMES[spec.name])
        assert writes[spec.name] == OWN_TOPICS[spec.name] | {dead_letter_topic(t) for t in consumed}, spec.name
        assert reads[spec.name] == consumed, spec.name
    assert groups == {spec.name for spec in SERVICES}, "each worker's consumer group is its service name"
    assert writes["core-banking"] == OWN_TOPICS["core-banking"] and not reads["core-banking"]

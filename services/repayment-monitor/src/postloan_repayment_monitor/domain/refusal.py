"""The one shape of a refusal: what the rules say no to, as a stable code and a sentence."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    """A command the rules refuse: `code` is stable for machines, `detail` explains it to people."""

    code: str
    detail: str

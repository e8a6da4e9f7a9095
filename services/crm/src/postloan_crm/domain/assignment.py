"""Balanced assignment: a case goes to the agent of its queue with the fewest open cases."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AgentLoad:
    agent_id: str
    open_cases: int
    capacity: int | None = None  # None: unlimited

    @property
    def has_room(self) -> bool:
        """Whether the agent can take another case."""
        return self.capacity is None or self.open_cases < self.capacity


def pick_agent(agents: Iterable[AgentLoad]) -> str | None:
    """The agent with room and the fewest open cases, ties broken by agent id; None when nobody has room."""
    candidates = [a for a in agents if a.has_room]
    if not candidates:
        return None
    return min(candidates, key=lambda a: (a.open_cases, a.agent_id)).agent_id


def assign_many(agents: Iterable[AgentLoad], cases: int) -> list[str | None]:
    """Assign `cases` new cases one after another, each to the least loaded agent at that moment."""
    loads = {a.agent_id: a for a in agents}
    picks: list[str | None] = []
    for _ in range(cases):
        chosen = pick_agent(loads.values())
        picks.append(chosen)
        if chosen is not None:
            agent = loads[chosen]
            loads[chosen] = AgentLoad(agent.agent_id, agent.open_cases + 1, agent.capacity)
    return picks

"""Register the simulation's strategy experiment in crm before the first case opens."""

from __future__ import annotations

from typing import IO

import httpx

from postloan_dev.simulator.experiment import DunningExperiment


class StrategyError(Exception):
    """crm refused or could not be reached."""


async def register_strategy(
    client: httpx.AsyncClient, *, crm_url: str, token: str, experiment: DunningExperiment, stream: IO[str]
) -> None:
    """Register the experiment in crm before the first case opens (`PUT /v1/strategies/{id}`, 201 or 200)."""
    url = f"{crm_url}/v1/strategies/{experiment.strategy_id}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        response = await client.put(url, json=experiment.strategy_body(), headers=headers)
    except httpx.HTTPError as exc:
        raise StrategyError(f"cannot reach crm at {crm_url} to register the strategy: {exc!r}") from exc
    if response.status_code not in (200, 201):
        raise StrategyError(f"PUT {url} answered {response.status_code}: {response.text[:500]}")
    shares = ", ".join(f"{a.name} ({a.role}) {a.share}" for a in experiment.arms)
    print(
        f"strategy {experiment.strategy_id}: {shares}; dunned borrowers answer with p={experiment.uplift}", file=stream
    )

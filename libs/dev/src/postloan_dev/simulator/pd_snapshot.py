"""The PD risk-alert shows for every booked loan at a moment of the simulation, kept as CSV for the demo."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

PD_COLUMNS = ("loan_id", "pd", "scored_on")


async def fetch_pds(
    client: httpx.AsyncClient, risk_url: str, loan_ids: Sequence[str], *, concurrency: int
) -> dict[str, tuple[float, str]]:
    """Each loan's latest PD and scoring day from risk-alert; loans it has not scored yet are left out."""
    found: dict[str, tuple[float, str]] = {}
    pending = iter(loan_ids)

    async def reader() -> None:
        for loan_id in pending:
            response = await client.get(f"{risk_url}/v1/risk/loans/{loan_id}")
            if response.status_code == 404:
                continue
            response.raise_for_status()
            body = response.json()
            if body.get("pd") is not None:
                found[loan_id] = (float(body["pd"]), body.get("scored_on") or "")

    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(reader())
    return found


def pd_csv(pds: Mapping[str, tuple[float, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(PD_COLUMNS)
    for loan_id in sorted(pds):
        pd, scored_on = pds[loan_id]
        writer.writerow([loan_id, f"{pd:.8f}", scored_on])
    return buffer.getvalue()


def read_pd_csv(path: Path) -> dict[str, float]:
    """loan id → PD from a file pd_csv wrote."""
    with path.open(encoding="utf-8", newline="") as handle:
        return {row["loan_id"]: float(row["pd"]) for row in csv.DictReader(handle)}

"""crm's collector worklist (issue 16): GET /v1/worklist of a collector with 500 open cases among 20,000.

crm runs as `postloan up` runs it (bench.live_platform). Its database is seeded directly with what the
worklist ranks by — open cases spread 500 to a collector, the loans' overdue balances, risk scores, a
latest interaction with a callback on some cases, open and broken promises on others, open risk alerts
on a few loans — because the figure is about the ranking query and the ranking, not about how the
cases got there (bench/rest.py measures crm fed through the event path).

One collector at a time asks for their own worklist (concurrency 1: a person opening the list), each
request another collector's. Raw ceiling, in the same run: GET /health/live on the same server, driven
the same way. Target (scale 1.0): p50 under 100 ms.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx

from bench.live_platform import Platform, PlatformError, keep_alive_limits, running_platform
from bench.report import Latencies, Result, at_full_scale, latency_results
from bench.rest import drive
from bench.scratch import fill_tables

TODAY = date(2026, 6, 1)
CASES_PER_AGENT = 500
TARGET_P50_MS = 100.0
BUCKETS = (("M1", 1, 29), ("M2", 30, 59), ("M3", 60, 89), ("M4+", 90, 180))


def agent_of(index: int, agents: int) -> str:
    return f"A{index % agents:05d}"


def _case_rows(cases: int, agents: int, rng: random.Random) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Rows of cases, loans and risk: one open case per loan, round-robin over the agents."""
    case_rows, loan_rows, risk_rows = [], [], []
    for i in range(cases):
        bucket, low, high = rng.choice(BUCKETS)
        dpd = rng.randint(low, high)
        overdue = Decimal(rng.randint(200, 60_000)).scaleb(-2) * 100
        loan_id, customer_id = f"L{i:07d}", f"C{i:07d}"
        case_rows.append(
            (f"K{i:07d}", loan_id, customer_id, "open", "phone", bucket, dpd, overdue, "CNY", agent_of(i, agents),
             TODAY - timedelta(days=dpd))
        )  # fmt: skip
        loan_rows.append((loan_id, customer_id, "active", dpd, bucket, overdue))
        risk_rows.append((loan_id, customer_id, rng.randint(300, 850), Decimal(rng.randint(1, 9999)).scaleb(-4)))
    return case_rows, loan_rows, risk_rows


def _activity_rows(cases: int, rng: random.Random) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """A latest interaction (some with a callback) on 40 % of cases, promises on 15 %, open alerts on 5 %."""
    interactions, promises, alerts = [], [], []
    now = datetime(TODAY.year, TODAY.month, TODAY.day, 9, tzinfo=UTC)
    for i in range(cases):
        case_id, loan_id, customer_id = f"K{i:07d}", f"L{i:07d}", f"C{i:07d}"
        if rng.random() < 0.4:
            callback = now + timedelta(hours=rng.randint(-48, 72)) if rng.random() < 0.5 else None
            interactions.append(
                (f"I{i:07d}", customer_id, case_id, loan_id, "phone", "outbound", "debtor", True, "no_answer",
                 now - timedelta(days=rng.randint(1, 20)), callback)
            )  # fmt: skip
        if rng.random() < 0.15:
            status = rng.choice(("open", "open", "broken"))
            promised = TODAY + timedelta(days=rng.randint(-10, 10))
            promises.append(
                (f"P{i:07d}", case_id, loan_id, customer_id, Decimal("500.00"), "CNY", promised,
                 promised - timedelta(days=7), status, promised if status == "broken" else None)
            )  # fmt: skip
        if rng.random() < 0.05:
            alerts.append(
                (f"R{i:07d}", "score-jump", "high", "loan", loan_id, customer_id, loan_id, "open", "bench", TODAY)
            )
    return interactions, promises, alerts


async def seed(conn: asyncpg.Connection, *, cases: int, agents: int) -> None:
    """Fill crm's tables the worklist reads; ANALYZE so the planner sees them as production would."""
    rng = random.Random(16)
    case_rows, loan_rows, risk_rows = _case_rows(cases, agents, rng)
    interactions, promises, alerts = _activity_rows(cases, rng)
    copies = {
        "cases": (case_rows, ("case_id", "loan_id", "customer_id", "status", "queue", "bucket", "dpd",
                              "overdue_amount", "currency", "assignee", "opened_on")),
        "loans": (loan_rows, ("loan_id", "customer_id", "status", "dpd", "bucket", "overdue")),
        "risk": (risk_rows, ("loan_id", "customer_id", "score", "pd")),
        "interactions": (interactions, ("interaction_id", "customer_id", "case_id", "loan_id", "channel",
                                        "direction", "party", "connected", "outcome", "occurred_at",
                                        "next_action_at")),
        "promises": (promises, ("promise_id", "case_id", "loan_id", "customer_id", "amount", "currency",
                                "promised_date", "made_on", "status", "resolved_on")),
        "risk_alerts": (alerts, ("alert_id", "rule_id", "severity", "subject_type", "subject_id", "customer_id",
                                 "loan_id", "status", "message", "raised_on")),
    }  # fmt: skip
    await fill_tables(conn, copies, business_date=TODAY)


def _collector(platform: Platform, agent: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=platform.url("crm"),
        headers={"Authorization": f"Bearer {platform.token('collector', sub=agent)}"},
        limits=keep_alive_limits(1),
        timeout=60.0,
    )


async def _worklists(clients: list[httpx.AsyncClient], *, requests: int) -> tuple[Latencies, int]:
    """`requests` worklist reads, each by the next collector (connections already open); latencies and items."""
    seconds: list[float] = []
    items = 0
    for i in range(requests):
        started = time.perf_counter()
        response = await clients[i % len(clients)].get("/v1/worklist")
        seconds.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise PlatformError(f"GET /v1/worklist: {response.status_code} {response.text[:300]}")
        items = max(items, len(response.json()["items"]))
    return Latencies.of(seconds), items


async def run(*, scale: float = 1.0) -> list[Result]:
    """Seed crm with open cases, then time collectors' worklists beside /health/live."""
    cases = max(200, int(20_000 * scale))
    agents = max(1, cases // CASES_PER_AGENT)
    requests = max(30, int(400 * scale))
    print(f"worklist: {cases:,} open cases over {agents:,} collectors, {requests:,} worklist reads", flush=True)
    async with running_platform(["crm"], initial_business_date=TODAY) as platform:
        conn = platform.services["crm"].conn
        assert conn is not None
        await seed(conn, cases=cases, agents=agents)
        clients = [_collector(platform, agent_of(i, agents)) for i in range(agents)]
        try:
            await _worklists(clients, requests=agents)  # warm-up: every connection open, plans cached
            ours, items = await _worklists(clients, requests=requests)
            await drive(clients[0], ["/health/live"] * 20, concurrency=1)
            health = (await drive(clients[0], ["/health/live"] * requests, concurrency=1)).latencies
        finally:
            for client in clients:
                await client.aclose()
        if items < cases // agents:
            raise PlatformError(f"a collector's worklist had {items} items, expected {cases // agents}")
    print(f"  GET /v1/worklist ({items} items): {ours.describe()}; /health/live {health.describe()}", flush=True)
    rows = latency_results(
        "REST crm GET /v1/worklist",
        ours,
        ceiling_name="/health/live, same server,",
        ceiling=health,
        detail=f"{items} cases per collector, {cases:,} open cases, concurrency 1; target p50 < {TARGET_P50_MS:.0f} ms",
    )
    target = at_full_scale(TARGET_P50_MS, scale)
    return [Result(**{**vars(rows[0]), "target": target}), rows[1]]

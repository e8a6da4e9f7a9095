"""REST latency of the main GET endpoints of docs/architecture.md (REST), over real HTTP at a fixed concurrency.

The four services run as `postloan up` runs them (bench.live_platform: uvicorn APIs and workers as
processes). The book reaches them the way core banking hands it over: customers as
customer-upserted events, loans through repayment-monitor's bulk intake (NDJSON), then
DAYS_CLOSED closes of day through the API, each settled before the next. Every service then
holds what it holds in production: loans with schedules, missed installments (those falling due on
the closed days, all unpaid, and 5 % of the book already 1–120 days overdue on arrival), risk
scores, classifications and alerts, collection cases, and reporting's daily snapshots. Scale 1.0
is 20,000 loans over four products and six branches.

Each endpoint then answers REQUESTS requests (after a warm-up) from CONCURRENCY concurrent
callers sharing one httpx client with as many keep-alive connections, each request for another
id or filter, with the token of the role that uses the endpoint (collector, risk_officer,
analyst). Raw ceiling, in the same run: the same server's cheapest endpoint, GET /health/live,
driven the same way, i.e. what HTTP, uvicorn, the middlewares and the client cost before an
endpoint does any work of its own. Ratio = ceiling ÷ ours, per percentile.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

import httpx

from bench.live_book import bulk_intake, close_day, customer_event, loan_line
from bench.live_platform import (
    Platform,
    PlatformError,
    running_platform,
)
from bench.report import Latencies, Result, latency_results
from postloan_common.catalog import CORE_BANKING_CUSTOMERS

CONCURRENCY = 16
WARM_UP = 50
START = date(2026, 3, 2)
DAYS_CLOSED = 7
PRODUCTS = (("consumer-12m", 12), ("consumer-24m", 24), ("instalment-6m", 6), ("sme-36m", 36))
BRANCHES = ("SH01", "BJ02", "GZ03", "SZ04", "HZ05", "CD06")
SERVICES = ("repayment-monitor", "risk-alert", "crm", "reporting")
# crm as compliance: a collector now reads only the cases assigned to them (and their customers), which in
# this book is none, so every customer 360 would be a 404; compliance reads every case unnarrowed.
ROLE_OF = {"repayment-monitor": "collector", "risk-alert": "risk_officer", "crm": "compliance", "reporting": "analyst"}


@dataclass(frozen=True)
class Book:
    loans: tuple[str, ...]
    customers: tuple[str, ...]


def customer_of(index: int) -> str:
    """Four customers per five loans: every fifth loan's borrower has another loan."""
    return f"C{index * 4 // 5:07d}"


def first_due(index: int) -> date:
    """5 % of the loans already 1–120 days overdue on arrival; the rest fall due over the 30 days from START."""
    if index % 20 == 0:
        return START - timedelta(days=1 + (index // 20) % 120)
    return START + timedelta(days=index % 30)


def book_lines(loans: int) -> tuple[Book, list[str]]:
    """The book of `loans` loans and its NDJSON lines for the bulk intake."""
    ids, lines = [], []
    for i in range(loans):
        product, months = PRODUCTS[i % len(PRODUCTS)]
        loan_id = f"L{i:07d}"
        ids.append(loan_id)
        lines.append(
            loan_line(
                loan_id=loan_id,
                customer_id=customer_of(i),
                product=product,
                months=months,
                branch=BRANCHES[i % len(BRANCHES)],
                first_due=first_due(i),
            )
        )
    return Book(tuple(ids), tuple(dict.fromkeys(customer_of(i) for i in range(loans)))), lines


def _query(path: str, **params: str | None) -> str:
    given = {k: v for k, v in params.items() if v is not None}
    return f"{path}?{urlencode(given)}" if given else path


def _filter(rng: random.Random) -> dict[str, str | None]:
    """No filter, a product or a branch."""
    pick = rng.randrange(3)
    if pick == 1:
        return {"product": rng.choice(PRODUCTS)[0]}
    if pick == 2:
        return {"branch": rng.choice(BRANCHES)}
    return {}


@dataclass(frozen=True)
class Endpoint:
    service: str
    label: str
    target: Callable[[random.Random, Book], str]


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("repayment-monitor", "rm GET /v1/loans/{id}", lambda r, b: f"/v1/loans/{r.choice(b.loans)}"),
    Endpoint(
        "repayment-monitor", "rm GET /v1/loans/{id}/schedule", lambda r, b: f"/v1/loans/{r.choice(b.loans)}/schedule"
    ),
    Endpoint(
        "repayment-monitor",
        "rm GET /v1/loans?min_dpd= (work list)",
        lambda r, b: _query("/v1/loans", min_dpd=str(r.choice((1, 1, 30))), branch=r.choice((None, *BRANCHES))),
    ),
    Endpoint("risk-alert", "risk GET /v1/risk/loans/{id}", lambda r, b: f"/v1/risk/loans/{r.choice(b.loans)}"),
    Endpoint(
        "risk-alert",
        "risk GET /v1/alerts?status=open",
        lambda r, b: _query(
            "/v1/alerts", status="open", severity=r.choice((None, None, "low", "medium", "high", "critical"))
        ),
    ),
    Endpoint(
        "crm",
        "crm GET /v1/cases?status=open",
        lambda r, b: _query("/v1/cases", status="open", queue=r.choice((None, None, "automated", "phone", "senior"))),
    ),
    Endpoint(
        "crm", "crm GET /v1/customers/{id}/overview", lambda r, b: f"/v1/customers/{r.choice(b.customers)}/overview"
    ),
    Endpoint("reporting", "rpt GET /v1/reports/portfolio", lambda r, b: _query("/v1/reports/portfolio", **_filter(r))),
    Endpoint("reporting", "rpt GET /v1/reports/aging", lambda r, b: _query("/v1/reports/aging", **_filter(r))),
)


def targets(endpoint: Endpoint, book: Book, count: int, *, seed: int) -> list[str]:
    """`count` request targets of `endpoint`, over ids and filters drawn with `seed`."""
    rng = random.Random(f"{seed}:{endpoint.label}")
    return [endpoint.target(rng, book) for _ in range(count)]


@dataclass(frozen=True)
class Driven:
    latencies: Latencies
    bytes_per_answer: float


async def drive(client: httpx.AsyncClient, paths: Sequence[str], *, concurrency: int) -> Driven:
    """GET every path with `concurrency` callers at once; every answer must be a 200."""
    pending = iter(paths)
    seconds: list[float] = []
    received = 0
    failures: list[str] = []

    async def caller() -> None:
        nonlocal received
        for path in pending:
            started = time.perf_counter()
            response = await client.get(path)
            seconds.append(time.perf_counter() - started)
            received += len(response.content)
            if response.status_code != 200:
                failures.append(f"GET {path}: {response.status_code} {response.text[:300]}")

    started = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(caller())
    wall = time.perf_counter() - started
    if failures:
        raise PlatformError(f"{len(failures)} of {len(paths)} requests failed, e.g. {failures[0]}")
    return Driven(Latencies.of(seconds, wall_s=wall), received / len(paths))


async def _seed(platform: Platform, book: Book, lines: list[str]) -> None:
    started = time.monotonic()
    await platform.publish(CORE_BANKING_CUSTOMERS, (customer_event(c, i) for i, c in enumerate(book.customers)))
    intake = await bulk_intake(platform, lines)
    print(
        f"  {len(book.customers):,} customers published, {len(lines):,} loans bulk-loaded in {intake:.1f} s", flush=True
    )
    await platform.settle("book")
    print(f"  book settled in every service after {time.monotonic() - started:.0f} s", flush=True)
    for offset in range(DAYS_CLOSED):
        day = START + timedelta(days=offset)
        closed = await close_day(platform, day)
        await platform.settle(f"close of {day}")
        stats = closed["stats"]
        print(
            f"  closed {day}: {stats['payments_missed']} missed, {stats['payments_due']} due, "
            f"{stats['delinquency_changes']} bucket moves; settled at {time.monotonic() - started:.0f} s",
            flush=True,
        )
    if dead := await platform.dead_letters():
        raise PlatformError(f"events were dead-lettered while seeding: {dead}")
    counts = {
        "delinquent loans": await platform.fetchval(
            "repayment-monitor",
            "SELECT count(*) FROM loans WHERE oldest_unpaid_due < $1",
            START + timedelta(DAYS_CLOSED),
        ),
        "open cases": await platform.fetchval("crm", "SELECT count(*) FROM cases WHERE status = 'open'"),
        "risk scores": await platform.fetchval("risk-alert", "SELECT count(*) FROM loan_scores"),
        "open alerts": await platform.fetchval("risk-alert", "SELECT count(*) FROM alerts WHERE status = 'open'"),
        "snapshots": await platform.fetchval("reporting", "SELECT count(*) FROM rpt_snapshot"),
    }
    print("  seeded: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()), flush=True)


async def run(*, scale: float = 1.0) -> list[Result]:
    """Seed the four services, then drive each main GET endpoint and /health/live at CONCURRENCY."""
    loans = max(1000, int(20_000 * scale))
    requests = max(400, int(4000 * scale))
    book, lines = book_lines(loans)
    print(
        f"rest: {loans:,} loans, {DAYS_CLOSED} closes of day, then {requests:,} requests per endpoint "
        f"at concurrency {CONCURRENCY}",
        flush=True,
    )
    results: list[Result] = []
    async with running_platform(SERVICES, initial_business_date=START) as platform:
        await _seed(platform, book, lines)
        for service in SERVICES:
            role = ROLE_OF[service]
            async with platform.client(service, role=role, connections=CONCURRENCY) as client:
                await drive(client, ["/health/live"] * WARM_UP, concurrency=CONCURRENCY)
                health = (await drive(client, ["/health/live"] * requests, concurrency=CONCURRENCY)).latencies
                print(f"  {service} GET /health/live: {health.describe()}", flush=True)
                for endpoint in (e for e in ENDPOINTS if e.service == service):
                    await drive(client, targets(endpoint, book, WARM_UP, seed=1), concurrency=CONCURRENCY)
                    ours = await drive(client, targets(endpoint, book, requests, seed=2), concurrency=CONCURRENCY)
                    print(
                        f"  {endpoint.label}: {ours.latencies.describe()}, {ours.bytes_per_answer / 1024:.1f} KB",
                        flush=True,
                    )
                    results += latency_results(
                        f"REST {endpoint.label}",
                        ours.latencies,
                        ceiling_name="/health/live, same server,",
                        ceiling=health,
                        detail=f"concurrency {CONCURRENCY}, role {role}, {ours.bytes_per_answer / 1024:.1f} KB "
                        f"per answer; ours {ours.latencies.describe()}; /health/live {health.describe()}; "
                        f"{loans:,} loans; target p50 within 2× /health/live",
                        p50_within=2.0,
                    )
    return results

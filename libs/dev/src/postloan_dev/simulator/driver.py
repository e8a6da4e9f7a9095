"""Drive the simulated core bank against a running platform: publish each day, wait, close the day.

For each business day D: publish D's events (Kafka, or REST), wait until repayment-monitor's
consumer group has committed past every record produced for D, then close D through
repayment-monitor's calendar API. The platform's business date must be the simulation's start.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

import httpx
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from postloan_common.catalog import (
    CORE_BANKING_CUSTOMERS,
    CORE_BANKING_LOANS,
    CORE_BANKING_TRANSACTIONS,
    dead_letter_topic,
)
from postloan_common.messaging.admin import ensure_topics
from postloan_common.messaging.kafka import make_producer, security_kwargs
from postloan_common.web.auth import mint_token
from postloan_dev.simulator.crm_strategy import StrategyError, register_strategy
from postloan_dev.simulator.ledger import add_months
from postloan_dev.simulator.model import Emitted, Simulation, SimulationConfig, best_auc, truth_csv
from postloan_dev.simulator.pd_snapshot import fetch_pds, pd_csv
from postloan_dev.simulator.uplift import cases_csv, true_uplift
from postloan_dev.simulator.worlds import case_truth

REPAYMENT_MONITOR_GROUP = "repayment-monitor"
RISK_ALERT_GROUP = "risk-alert"
# Fund flows go to risk-alert in arrays of at most this many (POST /v1/fund-flows).
FLOWS_PER_POST = 1000


class SimulationError(Exception):
    """The simulation cannot start or continue; the message says why and what to do."""


@dataclass(frozen=True)
class Target:
    """Where the simulator sends things, and how it authenticates."""

    repayment_url: str
    token: str
    via: str = "kafka"  # kafka | rest
    bootstrap_servers: str = "127.0.0.1:9092"
    partitions: int = 4
    idempotent_producer: bool = False
    crm_url: str = "http://127.0.0.1:8003"
    risk_url: str = "http://127.0.0.1:8002"
    consumer_group: str = REPAYMENT_MONITOR_GROUP
    # The group fund flows are waited for too (a loan's trace window must not close before its flows
    # are stored); None: a platform without risk-alert, flows are only produced.
    flows_group: str | None = None
    consume_timeout_s: float = 300.0
    http_concurrency: int = 8
    # A supervisor or admin token, to register the simulation's strategy experiment in crm (when it has one).
    strategy_token: str | None = None


def system_token(
    *,
    secret: str,
    issuer: str,
    audience: str,
    algorithm: str,
    sub: str = "core-banking-simulator",
    role: str = "system",
) -> str:
    """A `system` token (core banking) for a simulation; services refuse lifetimes over 12 h."""
    return mint_token(
        secret=secret,
        sub=sub,
        roles=[role],
        ttl=timedelta(hours=12),
        issuer=issuer,
        audience=audience,
        algorithm=algorithm,
    )


class Publisher(Protocol):
    async def start(self) -> None: ...
    async def publish(self, events: Sequence[Emitted]) -> None: ...
    async def wait_consumed(self) -> None: ...
    async def stop(self) -> None: ...


class KafkaPublisher:
    """Produces with acks=all and waits for the consumer group by comparing committed offsets."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.producer = make_producer(
            target.bootstrap_servers, idempotent=target.idempotent_producer, client_id="core-banking-simulator"
        )
        self.admin = AIOKafkaAdminClient(bootstrap_servers=target.bootstrap_servers, **security_kwargs())
        # The consumer group waited for on each topic, and the offset after the last record produced
        # to each partition of those topics.
        self.groups = {CORE_BANKING_LOANS: target.consumer_group}
        if target.flows_group is not None:
            self.groups[CORE_BANKING_TRANSACTIONS] = target.flows_group
        self.produced: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        topics = [CORE_BANKING_LOANS, CORE_BANKING_CUSTOMERS, CORE_BANKING_TRANSACTIONS]
        try:
            await ensure_topics(
                self.target.bootstrap_servers,
                [*topics, *(dead_letter_topic(t) for t in topics)],
                partitions=self.target.partitions,
            )
            await self.producer.start()
            await self.admin.start()
        except (KafkaError, TimeoutError) as exc:
            await self.stop()
            raise SimulationError(
                f"cannot reach the broker at {self.target.bootstrap_servers} ({exc!r}): set "
                "KAFKA_BOOTSTRAP_SERVERS to the broker `postloan up` printed"
            ) from exc

    async def publish(self, events: Sequence[Emitted]) -> None:
        futures = []
        for event in events:
            envelope = event.envelope
            headers = [
                ("event-type", envelope.type.encode()),
                ("event-version", str(envelope.version).encode()),
                ("correlation-id", (envelope.correlation_id or "").encode()),
            ]
            futures.append(
                await self.producer.send(
                    event.topic, value=envelope.to_bytes(), key=event.key.encode(), headers=headers
                )
            )
        for metadata in await asyncio.gather(*futures):
            if metadata.topic in self.groups:
                tp = TopicPartition(metadata.topic, metadata.partition)
                self.produced[tp] = max(self.produced.get(tp, 0), metadata.offset + 1)

    async def wait_consumed(self) -> None:
        """Return once each topic's group has committed offsets reaching everything produced so far."""
        deadline = time.monotonic() + self.target.consume_timeout_s
        for topic, group in self.groups.items():
            await self._wait_group(group, {tp: o for tp, o in self.produced.items() if tp.topic == topic}, deadline)

    async def _wait_group(self, group: str, produced: dict[TopicPartition, int], deadline: float) -> None:
        pause = 0.02
        while produced:
            # Named partitions: Tansu answers the "all partitions" form in a way aiokafka cannot decode.
            committed = await self.admin.list_consumer_group_offsets(group, partitions=list(produced))
            behind = {
                tp: offset for tp, offset in produced.items() if tp not in committed or committed[tp].offset < offset
            }
            if not behind:
                return
            if time.monotonic() > deadline:
                lag = sum(offset - (committed[tp].offset if tp in committed else 0) for tp, offset in behind.items())
                topic = next(iter(behind)).topic
                raise SimulationError(
                    f"consumer group {group!r} is {lag} record(s) behind on "
                    f"{topic} after {self.target.consume_timeout_s:.0f} s: is its worker running?"
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)

    async def stop(self) -> None:
        with contextlib.suppress(KafkaError):
            await self.producer.stop()
        with contextlib.suppress(KafkaError):
            await self.admin.close()


class RestPublisher:
    """Posts loans, repayments and reversals to repayment-monitor, customers to crm, fund flows to risk-alert.

    In order per subject; a day's flows go last, in arrays of up to FLOWS_PER_POST.
    """

    def __init__(self, target: Target, client: httpx.AsyncClient) -> None:
        self.target = target
        self.client = client
        self.gate = asyncio.Semaphore(target.http_concurrency)

    async def start(self) -> None:
        return None

    async def publish(self, events: Sequence[Emitted]) -> None:
        # Customers first, so a loan never arrives for a customer crm has not heard of.
        for topic in (CORE_BANKING_CUSTOMERS, CORE_BANKING_LOANS):
            by_subject: dict[str, list[Emitted]] = defaultdict(list)
            for event in events:
                if event.topic == topic:
                    by_subject[event.key].append(event)
            await asyncio.gather(*(self._in_order(chain) for chain in by_subject.values()))
        flows = [dict(e.envelope.data) for e in events if e.topic == CORE_BANKING_TRANSACTIONS]
        for start in range(0, len(flows), FLOWS_PER_POST):
            await self._post_flows(flows[start : start + FLOWS_PER_POST])

    async def _post_flows(self, flows: list[dict[str, Any]]) -> None:
        url = f"{self.target.risk_url}/v1/fund-flows"
        response = await self.client.post(url, json=flows)
        if response.status_code >= 300:
            raise SimulationError(f"POST {url} answered {response.status_code}: {response.text[:500]}")

    async def _in_order(self, chain: Sequence[Emitted]) -> None:
        async with self.gate:
            for event in chain:
                await self._post(event)

    async def _post(self, event: Emitted) -> None:
        envelope = event.envelope
        data: dict[str, Any] = dict(envelope.data)
        headers = {"X-Correlation-ID": envelope.correlation_id or ""}
        if envelope.type == "customer-upserted":
            url = f"{self.target.crm_url}/v1/customers"
        elif envelope.type == "loan-booked":
            url = f"{self.target.repayment_url}/v1/loans"
        elif envelope.type == "repayment-posted":
            url = f"{self.target.repayment_url}/v1/loans/{data.pop('loan_id')}/repayments"
        elif envelope.type == "repayment-reversed":
            url = f"{self.target.repayment_url}/v1/repayments/{data['repayment_id']}/reversal"
            data = {"reason": data["reason"]}
        else:
            raise SimulationError(f"{envelope.type} has no REST endpoint; use --via kafka")
        response = await self.client.post(url, json=data, headers=headers)
        if response.status_code >= 300:
            raise SimulationError(f"POST {url} answered {response.status_code}: {response.text[:500]}")

    async def wait_consumed(self) -> None:
        return None  # every request was applied when it returned

    async def stop(self) -> None:
        return None


@dataclass
class Progress:
    """One line per simulated day on `stream`."""

    stream: IO[str]
    days: int
    started: float = 0.0
    events: int = 0

    def day(self, index: int, day: date, sim: Simulation, *, events: int, seconds: float, waited: float) -> None:
        self.events += events
        elapsed = time.monotonic() - self.started
        stats = sim.stats
        active = sum(1 for loan in sim.loans if loan.status.value == "active")
        print(
            f"{day} day {index}/{self.days}  loans {stats['loans']} (active {active})  "
            f"repayments {stats['repayments']}  reversals {stats['reversals']}  write-offs {stats['write-offs']}  "
            f"events +{events} = {self.events}  {events / max(seconds, 1e-6):,.0f} ev/s today, "
            f"{self.events / max(elapsed, 1e-6):,.0f} ev/s overall  (waited {waited:.2f} s)",
            file=self.stream,
            flush=True,
        )


async def platform_business_date(client: httpx.AsyncClient, repayment_url: str) -> date:
    """The current business date of repayment-monitor's calendar."""
    try:
        response = await client.get(f"{repayment_url}/v1/calendar")
    except httpx.HTTPError as exc:
        raise SimulationError(f"cannot reach repayment-monitor at {repayment_url}: {exc!r}") from exc
    if response.status_code != 200:
        raise SimulationError(f"GET {repayment_url}/v1/calendar answered {response.status_code}: {response.text[:300]}")
    return date.fromisoformat(response.json()["business_date"])


def resolve_start(config: SimulationConfig, *, requested: date | None, platform: date) -> SimulationConfig:
    """The config starting at the platform's business date; refuse a different requested start."""
    if requested is not None and requested != platform:
        raise SimulationError(
            f"the platform's business date is {platform}, not the requested start {requested}: "
            f"start at {platform} (omit --start), or start repayment-monitor on a fresh database with "
            f"REPAYMENT_MONITOR_INITIAL_BUSINESS_DATE={requested}"
        )
    return replace(config, start=platform)


async def close_day(client: httpx.AsyncClient, repayment_url: str, day: date) -> None:
    """Close business day `day` (idempotent: a retry of the same day does not close the next one)."""
    url = f"{repayment_url}/v1/calendar/close-day"
    for attempt in range(5):
        try:
            response = await client.post(url, json={"business_date": day.isoformat()})
        except httpx.TransportError:
            if attempt == 4:
                raise
            await asyncio.sleep(1 + attempt)
            continue
        if response.status_code != 200:
            raise SimulationError(f"closing {day} failed ({response.status_code}): {response.text[:500]}")
        opened = date.fromisoformat(response.json()["business_date"])
        if opened != day + timedelta(days=1):
            raise SimulationError(f"closing {day} left the business date at {opened}")
        return


async def simulate(
    config: SimulationConfig,
    target: Target,
    *,
    requested_start: date | None,
    truth_path: Path | None,
    stream: IO[str] = sys.stderr,
    pd_snapshot: PdSnapshot | None = None,
    cases_path: Path | None = None,
) -> Simulation:
    """Run the whole simulation against the platform; return the played simulation."""
    headers = {"Authorization": f"Bearer {target.token}"}
    async with httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(120.0, connect=10.0)) as client:
        platform = await platform_business_date(client, target.repayment_url)
        config = resolve_start(config, requested=requested_start, platform=platform)
        if target.via == "rest":
            config = replace(config, write_offs=False)  # there is no write-off endpoint
        sim = Simulation(config)
        if config.experiment is not None:
            try:
                await register_strategy(
                    client,
                    crm_url=target.crm_url,
                    token=target.strategy_token or target.token,
                    experiment=config.experiment,
                    stream=stream,
                )
            except StrategyError as exc:
                raise SimulationError(str(exc)) from exc
        publisher: Publisher = KafkaPublisher(target) if target.via == "kafka" else RestPublisher(target, client)
        progress = Progress(stream, len(sim.days), started=time.monotonic())
        print(
            f"simulating {config.loans} loans over {config.months} months ({len(sim.days)} days) "
            f"from {config.start}, seed {config.seed}, via {target.via}",
            file=stream,
            flush=True,
        )
        await publisher.start()
        try:
            for index, day in enumerate(sim.days, start=1):
                began = time.monotonic()
                events = sim.play(day)
                await publisher.publish(events)
                published = time.monotonic()
                await publisher.wait_consumed()
                waited = time.monotonic() - published
                await close_day(client, target.repayment_url, day)
                progress.day(index, day, sim, events=len(events), seconds=time.monotonic() - began, waited=waited)
                if pd_snapshot is not None and day == pd_snapshot.day(config):
                    await take_pd_snapshot(client, target, sim, pd_snapshot, stream=stream)
        finally:
            await publisher.stop()
    finish(sim, truth_path=truth_path, stream=stream, cases_path=cases_path)
    return sim


@dataclass(frozen=True)
class PdSnapshot:
    """Write every booked loan's PD, as risk-alert shows it after `months` months have been played, to `path`."""

    path: Path
    months: int = 3

    def day(self, config: SimulationConfig) -> date:
        return add_months(config.start, self.months) - timedelta(days=1)


async def take_pd_snapshot(
    client: httpx.AsyncClient, target: Target, sim: Simulation, snapshot: PdSnapshot, *, stream: IO[str]
) -> None:
    """Fetch the PDs of the loans booked so far and write them as CSV."""
    booked = [loan.loan_id for loan in sim.loans if loan.status.value != "pending"]
    try:
        pds = await fetch_pds(client, target.risk_url, booked, concurrency=target.http_concurrency)
    except (httpx.HTTPError, ExceptionGroup) as exc:
        raise SimulationError(f"cannot read PDs from risk-alert at {target.risk_url}: {exc!r}") from exc
    snapshot.path.parent.mkdir(parents=True, exist_ok=True)
    snapshot.path.write_text(pd_csv(pds), encoding="utf-8")
    print(f"PD snapshot after month {snapshot.months}: {len(pds)} of {len(booked)} loans scored", file=stream)


def finish(sim: Simulation, *, truth_path: Path | None, stream: IO[str], cases_path: Path | None = None) -> None:
    """Write the ground truth (and, with an experiment, the case truth) and print the summary."""
    rows = sim.truth()
    if truth_path is not None:
        truth_path.parent.mkdir(parents=True, exist_ok=True)
        truth_path.write_text(truth_csv(rows), encoding="utf-8")
    if sim.config.experiment is not None and cases_path is not None:
        cases = case_truth(sim)
        cases_path.parent.mkdir(parents=True, exist_ok=True)
        cases_path.write_text(cases_csv(cases), encoding="utf-8")
        uplift = true_uplift(cases)
        print(f"case truth: {cases_path}; true dunning uplift (all cases so far): {uplift}", file=stream)
    defaults = sum(r.default_90dpd for r in rows)
    ceiling = best_auc(rows)
    lines = [f"{name}: {count}" for name, count in sorted(sim.stats.items())]
    lines.append(f"realised 90+ DPD defaults: {defaults} of {len(rows)} loans")
    lines.append("best AUC the truth allows: " + (f"{ceiling:.4f}" if ceiling is not None else "n/a (one class)"))
    if truth_path is not None:
        lines.append(f"ground truth: {truth_path}")
    print("\n".join(lines), file=stream, flush=True)

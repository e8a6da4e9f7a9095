"""The benchmark suites' pure helpers: percentiles, latency rows, request plans and books."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bench import e2e, posting_cpu, rest, risk
from bench.__main__ import SUITES, document, run_suites
from bench.report import Latencies, Result, at_full_scale, latency_results, percentile
from postloan_repayment_monitor.api.schemas import LoanIn


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.5),
        ([1.0, 2.0, 3.0, 4.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 75, 4.0),
        ([10.0, 20.0], 99, 19.9),
        ([7.0], 99, 7.0),
    ],
)
def test_percentile_interpolates_between_closest_ranks(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_agrees_with_numpy() -> None:
    rng = random.Random(8)
    for size in (2, 3, 17, 400, 4001):
        values = [rng.expovariate(20) for _ in range(size)]
        for q in (1, 50, 90, 99, 99.9):
            assert percentile(values, q) == pytest.approx(float(np.percentile(values, q)))


def test_percentile_refuses_nothing_and_out_of_range() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 50)
    with pytest.raises(ValueError, match="0–100"):
        percentile([1.0], 101)


def test_latencies_summarise_a_series() -> None:
    seconds = [0.001 * i for i in range(1, 101)]
    timed = Latencies.of(seconds, wall_s=2.0)
    assert (timed.count, timed.per_second) == (100, 50.0)
    assert timed.p50 == pytest.approx(0.0505)
    assert timed.p99 == pytest.approx(0.09901)
    assert Latencies.of(seconds).per_second is None
    assert "/s" not in Latencies.of(seconds).describe()
    with pytest.raises(ValueError, match="positive"):
        Latencies.of(seconds, wall_s=0)


def test_latency_results_put_each_percentile_beside_the_ceilings() -> None:
    ours = Latencies(count=10, p50=0.040, p99=0.200, per_second=100.0)
    ceiling = Latencies(count=10, p50=0.010, p99=0.050, per_second=400.0)
    p50, p99 = latency_results("REST x", ours, ceiling_name="/health/live", ceiling=ceiling, detail="why")
    assert (p50.name, p99.name) == ("REST x p50", "REST x p99")
    assert (p50.value, p50.ceiling, p99.value, p99.ceiling) == pytest.approx((40.0, 10.0, 200.0, 50.0))
    assert (p50.unit, p50.ceiling_name, p99.ceiling_name) == ("ms", "/health/live p50", "/health/live p99")
    # For times the ratio is ceiling ÷ ours: 1.0 would be as fast as the raw operation.
    assert (p50.ratio, p99.ratio) == pytest.approx((0.25, 0.25))
    assert (p50.detail, p99.detail) == ("why", "")
    assert p50.as_dict()["ratio"] == 0.25


def test_seconds_between_pairs_every_start_with_its_end() -> None:
    t0 = datetime(2026, 3, 2, 12, tzinfo=UTC)
    start = {"L1": t0, "L2": t0 + timedelta(seconds=1)}
    end = {"L1": t0 + timedelta(milliseconds=1500), "L2": t0 + timedelta(seconds=3), "L9": t0}
    assert sorted(e2e.seconds_between(start, end)) == pytest.approx([1.5, 2.0])
    with pytest.raises(ValueError, match="1 without an end"):
        e2e.seconds_between(start, {"L1": t0})


def test_stage_medians_name_each_stage_in_order() -> None:
    text = e2e.stage_medians({"published": [0.1, 0.3, 0.2], "visible": [1.0, 3.0]})
    assert text == "published 200 ms, visible 2,000 ms"


def test_e2e_book_misses_the_same_number_of_payments_every_day() -> None:
    lines = e2e.book_lines(300)
    first_dues = Counter(json.loads(line)["terms"]["first_due_date"] for line in lines)
    assert len(first_dues) == 30
    assert set(first_dues.values()) == {10}
    assert min(first_dues) == e2e.START.isoformat()


def test_rest_book_is_valid_bulk_input_with_an_overdue_tail() -> None:
    book, lines = rest.book_lines(400)
    bodies = [LoanIn.model_validate_json(line) for line in lines]
    assert [b.loan_id for b in bodies] == list(book.loans)
    assert {b.customer_id for b in bodies} == set(book.customers)
    assert len(book.customers) == 320
    overdue = [b for b in bodies if b.terms is not None and b.terms.first_due_date < rest.START]
    assert len(overdue) == 20
    assert {b.product for b in bodies} == {p for p, _ in rest.PRODUCTS}
    assert {b.branch for b in bodies} == set(rest.BRANCHES)


def test_rest_targets_vary_ids_and_filters_and_repeat_for_a_seed() -> None:
    book, _ = rest.book_lines(1000)
    for endpoint in rest.ENDPOINTS:
        paths = rest.targets(endpoint, book, 200, seed=2)
        assert paths == rest.targets(endpoint, book, 200, seed=2)
        assert paths != rest.targets(endpoint, book, 200, seed=3)
        assert len(set(paths)) > 3, endpoint.label
        assert all(p.startswith("/v1/") for p in paths)
    loan = next(e for e in rest.ENDPOINTS if e.label == "rm GET /v1/loans/{id}")
    ids = {p.rsplit("/", 1)[1] for p in rest.targets(loan, book, 500, seed=2)}
    assert ids <= set(book.loans)
    assert len(ids) > 300
    services = {e.service for e in rest.ENDPOINTS}
    assert services == set(rest.SERVICES) == set(rest.ROLE_OF)


def test_a_target_is_met_on_the_right_side_and_only_judged_at_full_scale() -> None:
    rate = Result("ingest", 6000.0, "/s", "raw", 40000.0, target=5000.0)
    slow = Result("close", 40.0, "s", "raw", 20.0, higher_is_better=False, target=30.0)
    assert (rate.met, slow.met) == (True, False)
    assert Result("x", 1.0, "s", "raw", 1.0).met is None
    assert slow.as_dict()["met"] is False
    assert (at_full_scale(60.0, 1.0), at_full_scale(60.0, 0.05)) == (60.0, None)
    ours = Latencies(count=10, p50=0.030, p99=0.2)
    health = Latencies(count=10, p50=0.010, p99=0.05)
    p50, p99 = latency_results("REST x", ours, ceiling_name="h", ceiling=health, detail="", p50_within=2.0)
    assert (p50.target, p50.met, p99.target) == (pytest.approx(20.0), False, None)


def test_risk_book_chunks_number_their_loans_apart() -> None:
    # Every chunk once got the same ids (duplicate key in loan_features at 1M loans).
    first, second = risk._book(50, seed=0, first=0), risk._book(50, seed=50, first=50)
    ids = [row[0] for row in first + second]
    assert len(set(ids)) == 100
    assert ids[50] == "L00000050"


def test_results_document_names_the_machine_and_commit() -> None:
    doc = document([Result("x", 2.0, "s", "raw", 1.0, target=3.0)], scale=0.05, started_at=datetime.now(UTC))
    assert doc["scale"] == 0.05
    assert isinstance(doc["commit"], str) and doc["commit"]
    assert {"platform", "cpus", "load_average"} <= set(doc["machine"])  # type: ignore[arg-type]
    (figure,) = doc["results"]  # type: ignore[misc]
    assert {"value", "ceiling", "ratio", "target", "met"} <= set(figure)
    json.dumps(doc)


# Every suite at its smallest book, so a broken bench fails CI (the figures themselves are not asserted).
@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("suite", list(SUITES))
async def test_every_suite_runs_at_a_tiny_scale(suite: str) -> None:
    results = await run_suites({suite}, 0.001)
    assert results, suite
    for result in results:
        assert math.isfinite(result.value) and result.value > 0, result
        assert math.isfinite(result.ceiling) and result.ceiling > 0, result
    json.dumps([r.as_dict() for r in results])


def test_posting_cpu_paths_run() -> None:
    posting_cpu.replayed()
    posting_cpu.incremental()
    assert posting_cpu.micros(posting_cpu.incremental, n=2) > 0

"""Smoke test of a running postloan platform: every API ready, a loan registered, a day closed.

    python deploy/scripts/smoke.py --token "$(postloan token --role admin)"            # compose ports
    python deploy/scripts/smoke.py --token T --api repayment-monitor=http://host:8001 ...

Standard library only, so it runs from any Python 3.11 against compose, a cluster or `postloan up`.
Exit 0 when every check passed; otherwise 1 with the failing check.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

DEFAULT_APIS = {
    "repayment-monitor": "http://127.0.0.1:8001",
    "risk-alert": "http://127.0.0.1:8002",
    "crm": "http://127.0.0.1:8003",
    "reporting": "http://127.0.0.1:8004",
}


class SmokeError(Exception):
    """A check failed; the message says which and why."""


def request(
    method: str, url: str, *, token: str | None = None, body: Any = None, timeout: float = 10.0
) -> tuple[int, Any]:
    """Send one request; return (status, parsed JSON body or text)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Accept": "application/json"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - operator-given URLs
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    text = raw.decode(errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def wait_ready(apis: Mapping[str, str], *, timeout_s: float) -> None:
    """Wait until every API answers 200 on /health/live and /health/ready."""
    deadline = time.monotonic() + timeout_s
    pending = dict(apis)
    last: dict[str, str] = {}
    while pending:
        for name, base in list(pending.items()):
            try:
                live, _ = request("GET", f"{base}/health/live", timeout=3)
                ready, body = request("GET", f"{base}/health/ready", timeout=5)
            except OSError as exc:
                last[name] = repr(exc)
                continue
            if live == 200 and ready == 200:
                del pending[name]
            else:
                last[name] = f"live {live}, ready {ready}: {body}"
        if pending and time.monotonic() > deadline:
            raise SmokeError(f"not ready after {timeout_s:.0f}s: {last}")
        if pending:
            time.sleep(1.0)


def expect(status: int, body: Any, wanted: Sequence[int], what: str) -> Any:
    """Raise SmokeError unless `status` is one of `wanted`."""
    if status not in wanted:
        raise SmokeError(f"{what}: HTTP {status}: {body}")
    return body


def run(apis: Mapping[str, str], *, token: str, timeout_s: float = 180.0) -> list[str]:
    """Run every check; return their names."""
    done: list[str] = []
    wait_ready(apis, timeout_s=timeout_s)
    done.append(f"{len(apis)} APIs live and ready")
    for name, base in apis.items():
        status, body = request("GET", f"{base}/metrics")
        if status != 200 or "http_requests_total" not in str(body):
            raise SmokeError(f"{name} /metrics: HTTP {status}")
    done.append("every API serves /metrics")

    rm = apis["repayment-monitor"]
    calendar = expect(*request("GET", f"{rm}/v1/calendar", token=token), [200], "GET /v1/calendar")
    today = date.fromisoformat(calendar["business_date"])
    loan_id = f"SMOKE-{uuid.uuid4().hex[:12]}"
    loan = {
        "loan_id": loan_id,
        "customer_id": f"C-{loan_id}",
        "product": "consumer-12m",
        "branch": "SH01",
        "currency": "CNY",
        "principal": "2000.00",
        "annual_rate": "0.1200",
        "disbursed_on": today.isoformat(),
        "installments": [
            {"seq": 1, "due_date": (today + timedelta(days=30)).isoformat(), "principal": "1000.00",
             "interest": "20.00", "fee": "0.00"},
            {"seq": 2, "due_date": (today + timedelta(days=60)).isoformat(), "principal": "1000.00",
             "interest": "10.00", "fee": "0.00"},
        ],
    }  # fmt: skip
    expect(*request("POST", f"{rm}/v1/loans", token=token, body=loan), [201], "POST /v1/loans")
    got = expect(*request("GET", f"{rm}/v1/loans/{loan_id}", token=token), [200], "GET /v1/loans/{id}")
    if got.get("loan_id") != loan_id:
        raise SmokeError(f"GET /v1/loans/{loan_id} returned {got}")
    done.append(f"loan {loan_id} registered")

    closed = expect(
        *request("POST", f"{rm}/v1/calendar/close-day", token=token, body={"business_date": today.isoformat()}),
        [200],
        "POST /v1/calendar/close-day",
    )
    after = expect(*request("GET", f"{rm}/v1/calendar", token=token), [200], "GET /v1/calendar")
    if closed["closed"] != today.isoformat() or after["business_date"] != (today + timedelta(days=1)).isoformat():
        raise SmokeError(f"close-day of {today}: {closed}, calendar now {after}")
    done.append(f"business day {today} closed")
    return done


def _apis(pairs: Sequence[str]) -> dict[str, str]:
    apis = dict(DEFAULT_APIS)
    for pair in pairs:
        name, _, url = pair.partition("=")
        if name not in apis or not url:
            raise SystemExit(f"--api wants NAME=URL with NAME one of {sorted(DEFAULT_APIS)}, got {pair!r}")
        apis[name] = url.rstrip("/")
    return apis


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the checks, print the outcome."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--token", required=True, help="a JWT with the admin role")
    parser.add_argument("--api", action="append", default=[], metavar="NAME=URL", help="override an API base URL")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for readiness")
    args = parser.parse_args(argv)
    try:
        checks = run(_apis(args.api), token=args.token, timeout_s=args.timeout)
    except SmokeError as exc:
        print(f"smoke: FAILED: {exc}", file=sys.stderr)
        return 1
    for check in checks:
        print(f"smoke: ok  {check}")
    print(f"smoke: {len(checks)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`make demo`: start the platform, simulate a loan book, fetch the management report, stop.

    python -m postloan_dev.simulator.demo [--loans 10000] [--months 12] [--seed 1] [--out demo]

The platform runs as `postloan up --data-dir OUT/platform` (a fresh directory each time: the
embedded broker keeps nothing across restarts, so an old database would not match it); its
logs are in OUT/platform/logs, the simulator's ground truth in OUT/truth.csv, and the
management report in OUT/management-report.pdf and .html.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from postloan_common.catalog import SERVICES
from postloan_dev.simulator.early_warning import AlertSeen, describe, scorecard, write_alerts_csv
from postloan_dev.simulator.fund_use_check import FlagSeen, describe_fund_use, fund_use_card
from postloan_dev.simulator.ledger import add_months
from postloan_dev.simulator.pd_snapshot import read_pd_csv
from postloan_dev.simulator.truth import TruthRow, read_truth_csv
from postloan_dev.simulator.uplift import (
    describe_uplift,
    mature,
    measured_uplift,
    read_cases_csv,
    report_query,
    true_uplift,
)
from postloan_dev.tokens import local_token

READY_TIMEOUT_S = 300.0
REPORT_TIMEOUT_S = 900.0


def _url(name: str) -> str:
    spec = next(s for s in SERVICES if s.name == name)
    return f"http://127.0.0.1:{os.environ.get(f'{spec.env_prefix}PORT') or spec.port}"


def _tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def _wait_ready(platform: subprocess.Popen[bytes], log: Path) -> str:
    """Wait for `postloan up` to print its summary (every service ready); return the broker it printed."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if platform.poll() is not None:
            raise SystemExit(f"postloan up exited with {platform.returncode}:\n{_tail(log)}")
        text = log.read_text(errors="replace") if log.exists() else ""
        if "postloan is ready" in text:
            found = re.search(r"^broker\s+(\S+)", text, re.MULTILINE)
            if found is None:
                raise SystemExit(f"postloan up printed no broker address:\n{_tail(log)}")
            return found.group(1)
        time.sleep(1.0)
    raise SystemExit(f"postloan up was not ready after {READY_TIMEOUT_S:.0f} s:\n{_tail(log)}")


def _fetch_reports(out: Path, *, last_day: date, token: str) -> None:
    """Wait until reporting has closed the last simulated day, then save the management report."""
    base = _url("reporting")
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + REPORT_TIMEOUT_S
    with httpx.Client(base_url=base, headers=headers, timeout=300.0) as client:
        as_of = None
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                response = client.get("/v1/reports/portfolio")
                if response.status_code == 200:
                    as_of = response.json().get("as_of")
                    if as_of == last_day.isoformat():
                        break
            time.sleep(2.0)
        else:
            print(f"reporting is at {as_of}, not {last_day}; saving the report as it stands", file=sys.stderr)
        for fmt in ("pdf", "html"):
            response = client.get("/v1/reports/management", params={"format": fmt})
            if response.status_code != 200:
                raise SystemExit(
                    f"GET /v1/reports/management?format={fmt}: {response.status_code} {response.text[:300]}"
                )
            path = out / f"management-report.{fmt}"
            path.write_bytes(response.content)
            print(f"wrote {path} ({len(response.content):,} bytes)", file=sys.stderr)


def _print_model_auc(*, token: str) -> None:
    """Print the champion risk model's AUC on the platform's own labelled history, beside the truth's best."""
    with (
        httpx.Client(
            base_url=_url("risk-alert"), headers={"Authorization": f"Bearer {token}"}, timeout=300.0
        ) as client,
        contextlib.suppress(httpx.HTTPError, ValueError, KeyError, StopIteration),
    ):
        models = client.get("/v1/models").json()["items"]
        version = next(m["version"] for m in models if m["status"] == "champion")
        perf = client.get(f"/v1/models/{version}/performance").json()
        auc = f"{perf['auc']:.4f}" if perf.get("auc") is not None else "n/a (no labelled loans yet)"
        print(
            f"risk model {version}: AUC {auc} on {perf['labelled_rows']} labelled loans "
            "(90+ DPD within 12 months of scoring); compare with the best AUC the truth allows above",
            file=sys.stderr,
        )
        return
    print("risk model AUC: not available from risk-alert", file=sys.stderr)


def _items(client: httpx.Client, path: str) -> Iterator[dict[str, Any]]:
    """Every item of a paginated list (items, next_cursor), page by page."""
    cursor = None
    while True:
        params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
        page = client.get(path, params=params).raise_for_status().json()
        yield from page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return


def _alerts_seen(client: httpx.Client, truth: Sequence[TruthRow]) -> list[AlertSeen]:
    """Every alert risk-alert raised, on the loans it names (a customer's alert on each of its loans)."""
    loans_of: dict[str, list[str]] = {}
    for row in truth:
        loans_of.setdefault(row.customer_id, []).append(row.loan_id)
    seen: list[AlertSeen] = []
    for alert in _items(client, "/v1/alerts"):
        raised = date.fromisoformat(alert["raised_on"] or alert["raised_at"][:10])
        subjects = [alert["subject_id"]] if alert["subject_type"] == "loan" else loans_of.get(alert["subject_id"], [])
        seen += [AlertSeen(loan_id, alert["rule_id"], raised) for loan_id in subjects]
    return seen


def _print_early_warning(out: Path, *, token: str) -> None:
    """The early-warning scorecard over the ground truth (postloan_dev.simulator.early_warning)."""
    truth = read_truth_csv((out / "truth.csv").read_text(encoding="utf-8"))
    pds = read_pd_csv(out / "pd-month3.csv") if (out / "pd-month3.csv").exists() else {}
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=_url("risk-alert"), headers=headers, timeout=300.0) as client:
            alerts = _alerts_seen(client, truth)
    except httpx.HTTPError as exc:
        print(f"early warning: alerts not available from risk-alert ({exc!r})", file=sys.stderr)
        return
    (out / "alerts.csv").write_text(write_alerts_csv(alerts), encoding="utf-8")
    print("\n".join(describe(scorecard(truth, alerts, pds))), file=sys.stderr)


def _print_fund_use(out: Path, *, token: str) -> None:
    """True misusers flagged and false flags, from risk-alert's fund-use flags (simulator.fund_use_check)."""
    truth = read_truth_csv((out / "truth.csv").read_text(encoding="utf-8"))
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=_url("risk-alert"), headers=headers, timeout=300.0) as client:
            flags = [FlagSeen(f["loan_id"], f["rule"]) for f in _items(client, "/v1/fund-use/flags")]
    except httpx.HTTPError as exc:
        print(f"fund use: flags not available from risk-alert ({exc!r})", file=sys.stderr)
        return
    print("\n".join(describe_fund_use(fund_use_card(truth, flags))), file=sys.stderr)


def _print_uplift(out: Path, *, start: date, last_day: date, token: str) -> None:
    """The dunning uplift the effectiveness report measured (champion − hold-out) beside the truth's."""
    params = report_query(start=start, end=last_day)
    try:
        with httpx.Client(base_url=_url("reporting"), headers={"Authorization": f"Bearer {token}"}, timeout=300.0) as c:
            report = c.get("/v1/reports/effectiveness", params=params).raise_for_status().json()
    except (httpx.HTTPError, ValueError) as exc:
        print(f"dunning uplift: the effectiveness report is not available ({exc!r})", file=sys.stderr)
        return
    (out / "effectiveness.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    as_of = date.fromisoformat(report["as_of"])
    cases = read_cases_csv((out / "cases.csv").read_text(encoding="utf-8"))
    rows = mature(cases, start=start, end=last_day, as_of=as_of)
    print("\n".join(describe_uplift(true_uplift(rows), measured_uplift(report))), file=sys.stderr)


def _stop(platform: subprocess.Popen[bytes]) -> None:
    if platform.poll() is not None:
        return
    os.killpg(platform.pid, signal.SIGTERM)
    try:
        platform.wait(90)
    except subprocess.TimeoutExpired:
        os.killpg(platform.pid, signal.SIGKILL)
        platform.wait(10)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; return the exit code."""
    parser = argparse.ArgumentParser(prog="postloan-demo", description=__doc__)
    parser.add_argument("--loans", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 1, 1))
    parser.add_argument("--out", type=Path, default=Path("demo"))
    parser.add_argument("--dunning-uplift", type=float, default=0.5, help="chance a dunned borrower answers")
    args = parser.parse_args(argv)

    out: Path = args.out.resolve()
    data_dir = out / "platform"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = {
        **os.environ,
        "REPAYMENT_MONITOR_INITIAL_BUSINESS_DATE": args.start.isoformat(),
        "POSTLOAN_LOG_JSON": "false",
    }
    up_log = out / "postloan-up.log"
    with up_log.open("wb") as log:
        platform = subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "postloan_dev.cli", "up", "--data-dir", str(data_dir)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
    try:
        print(f"starting the platform (log: {up_log})", file=sys.stderr, flush=True)
        broker = _wait_ready(platform, up_log)
        simulate = [
            sys.executable, "-m", "postloan_dev.cli", "simulate",
            "--loans", str(args.loans), "--months", str(args.months), "--seed", str(args.seed),
            "--start", args.start.isoformat(), "--truth", str(out / "truth.csv"),
            "--pd-snapshot", str(out / "pd-month3.csv"),
            "--dunning-uplift", str(args.dunning_uplift), "--cases", str(out / "cases.csv"),
        ]  # fmt: skip
        code = subprocess.run(simulate, env={**env, "KAFKA_BOOTSTRAP_SERVERS": broker}, check=False).returncode  # noqa: S603
        if code != 0:
            print(f"the simulation failed (exit {code}); platform logs in {data_dir / 'logs'}", file=sys.stderr)
            return code
        token = local_token(sub="demo", roles=["admin"])
        last_day = add_months(args.start, args.months) - timedelta(days=1)
        _fetch_reports(out, last_day=last_day, token=token)
        _print_model_auc(token=token)
        _print_early_warning(out, token=token)
        _print_fund_use(out, token=token)
        _print_uplift(out, start=args.start, last_day=last_day, token=token)
        return 0
    finally:
        print("stopping the platform", file=sys.stderr, flush=True)
        _stop(platform)


if __name__ == "__main__":
    raise SystemExit(main())

"""Run every benchmark, print the table and write bench/results.json."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import dunning, e2e, fineract, foundation, funds, repayment, reporting, rest, risk, worklist
from bench.report import Result, print_table

# In the order they run.
SUITES = {
    "foundation": foundation,
    "risk": risk,
    "funds": funds,
    "reporting": reporting,
    "repayment": repayment,
    "rest": rest,
    "worklist": worklist,
    "dunning": dunning,
    "e2e": e2e,
    "fineract": fineract,
}


# `make bench QUICK=1`: a look in a few minutes.
QUICK_SCALE = 0.05


async def run_suites(selected: set[str], scale: float) -> list[Result]:
    """Run the selected suites (all when none) in order, printing progress."""
    names = [name for name in SUITES if not selected or name in selected]
    results: list[Result] = []
    started = time.monotonic()
    for number, name in enumerate(names, 1):
        print(
            f"\n=== [{number}/{len(names)}] {name} at scale {scale:g} ({time.monotonic() - started:,.0f} s in)",
            flush=True,
        )
        suite_started = time.monotonic()
        figures = await SUITES[name].run(scale=scale)
        print(f"=== {name}: {len(figures)} figures in {time.monotonic() - suite_started:,.0f} s", flush=True)
        results += figures
    return results


def machine() -> dict[str, object]:
    """What the figures were measured on, with the load when the run ended (other work skews times)."""
    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def commit() -> str:
    """The checked-out commit, '+dirty' when the work tree has changes."""
    root = Path(__file__).parent.parent
    git = shutil.which("git")
    if git is None:
        return "unknown"
    try:
        # Fixed argv: git itself, found on PATH.
        head = subprocess.run([git, "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)  # noqa: S603
        dirty = subprocess.run([git, "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True)  # noqa: S603
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def document(results: list[Result], *, scale: float, started_at: datetime) -> dict[str, object]:
    """bench/results.json: every figure with its ceiling, ratio, target and whether met, the machine, the commit."""
    where = {"machine": machine(), "commit": commit()}
    return {
        "ran_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "scale": scale,
        **where,
        "results": [r.as_dict() for r in results],
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "suites",
        nargs="*",
        help=f"suites to run (default: all): {', '.join(SUITES)}; rest = REST p50/p99 of the main GET endpoints, "
        "e2e = payment-missed to an open collection case, fineract = Fineract records decoded and mapped",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every workload size")
    parser.add_argument("--quick", action="store_true", help=f"same as --scale {QUICK_SCALE}")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.json")
    args = parser.parse_args()
    if unknown := set(args.suites) - set(SUITES):
        parser.error(f"unknown suites: {', '.join(sorted(unknown))} (choose from {', '.join(SUITES)})")
    scale = QUICK_SCALE if args.quick else args.scale
    started_at = datetime.now(UTC)
    results = asyncio.run(run_suites(set(args.suites), scale))
    print_table(results)
    args.out.write_text(json.dumps(document(results, scale=scale, started_at=started_at), indent=2) + "\n")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()

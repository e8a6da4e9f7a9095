"""Run every benchmark, print the table and write bench/results.json."""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import e2e, fineract, foundation, repayment, reporting, rest, risk
from bench.report import Result, print_table

# In the order they run.
SUITES = {
    "foundation": foundation,
    "risk": risk,
    "reporting": reporting,
    "repayment": repayment,
    "rest": rest,
    "e2e": e2e,
    "fineract": fineract,
}


async def _run(selected: set[str], scale: float) -> list[Result]:
    results: list[Result] = []
    for name, suite in SUITES.items():
        if not selected or name in selected:
            results += await suite.run(scale=scale)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "suites",
        nargs="*",
        help=f"suites to run (default: all): {', '.join(SUITES)}; rest = REST p50/p99 of the main GET endpoints, "
        "e2e = payment-missed to an open collection case, fineract = Fineract records decoded and mapped",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every workload size")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.json")
    args = parser.parse_args()
    if unknown := set(args.suites) - set(SUITES):
        parser.error(f"unknown suites: {', '.join(sorted(unknown))} (choose from {', '.join(SUITES)})")
    results = asyncio.run(_run(set(args.suites), args.scale))
    print_table(results)
    args.out.write_text(
        json.dumps(
            {
                "ran_at": datetime.now(UTC).isoformat(),
                "machine": {
                    "platform": platform.platform(),
                    "python": sys.version.split()[0],
                    "cpus": __import__("os").cpu_count(),
                },
                "results": [r.as_dict() for r in results],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()

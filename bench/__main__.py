"""Run every benchmark, print the table and write bench/results.json."""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import foundation, repayment, reporting, risk
from bench.report import Result, print_table


async def _run(selected: set[str], scale: float) -> list[Result]:
    results: list[Result] = []
    if not selected or "foundation" in selected:
        results += await foundation.run(scale=scale)
    if not selected or "risk" in selected:
        results += await risk.run(scale=scale)
    if not selected or "reporting" in selected:
        results += await reporting.run(scale=scale)
    if not selected or "repayment" in selected:
        results += await repayment.run(scale=scale)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "suites", nargs="*", help="suites to run (default: all): foundation, repayment, reporting, risk"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every workload size")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.json")
    args = parser.parse_args()
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

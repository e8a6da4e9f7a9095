"""Load a portfolio file for operators: `python -m postloan_repayment_monitor.bulk_load FILE [--format ndjson|csv]`.

The same job as POST /v1/loans/bulk (see postloan_repayment_monitor.service.bulk for the formats), run in
this process against the database of the service's settings; prints the job's final counts.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from pathlib import Path

from postloan_common.db import create_engine, session_factory
from postloan_common.logging import configure_logging
from postloan_repayment_monitor.domain.rules import BucketScheme
from postloan_repayment_monitor.service import audit, bulk
from postloan_repayment_monitor.settings import Settings


async def _load(path: Path, fmt: bulk.Format, chunk_size: int) -> bulk.JobProgress:
    settings = Settings()
    engine = create_engine(settings.database_url, pool_size=2, max_overflow=2)
    try:
        sessions = session_factory(engine)
        job_id = bulk.new_job_id()
        actor = f"cli:{getpass.getuser()}"
        async with sessions.begin() as session:
            await bulk.create_job(session, job_id=job_id, fmt=fmt, submitted_by=actor)
            await audit.record(
                session,
                actor=actor,
                action="loans.bulk",
                subject=job_id,
                details={"format": fmt, "file": str(path)},
                correlation_id=job_id,
            )
        print(f"bulk job {job_id}: loading {path} ({fmt})", file=sys.stderr, flush=True)
        return await bulk.load_file(
            sessions,
            job_id=job_id,
            path=path,
            fmt=fmt,
            initial_business_date=settings.first_business_date(),
            buckets=BucketScheme(),
            chunk_size=chunk_size,
            correlation_id=job_id,
            weekend=settings.weekend(),
        )
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run the job, print its outcome; exit 1 when the job failed."""
    parser = argparse.ArgumentParser(prog="python -m postloan_repayment_monitor.bulk_load", description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--format", choices=bulk.FORMATS, default=None, help="default: from the file extension")
    parser.add_argument("--chunk-size", type=int, default=bulk.DEFAULT_CHUNK)
    args = parser.parse_args(argv)
    if not args.file.is_file():
        parser.error(f"{args.file} is not a file")
    fmt: bulk.Format = args.format or ("csv" if args.file.suffix.lower() == ".csv" else "ndjson")
    settings = Settings()
    configure_logging(service=settings.service_name, level=settings.log_level, json=settings.log_json)
    progress = asyncio.run(_load(args.file, fmt, args.chunk_size))
    print(json.dumps({"job_id": progress.job_id, **progress.counters()}, indent=2))
    return 0 if progress.status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())

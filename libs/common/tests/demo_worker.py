"""Run the demo consumer as its own process, so a test can SIGKILL it mid-batch."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from demo_app import HANDLERS, inbox, outbox

from postloan_common.db import create_engine, session_factory
from postloan_common.messaging.consumer import Consumer, ConsumerConfig


async def main(database_url: str, bootstrap: str, topic: str, group: str) -> None:
    engine = create_engine(database_url)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    consumer = Consumer(
        ConsumerConfig(
            name=group, topics=[topic], bootstrap_servers=bootstrap, batch_size=200, session_timeout_ms=6000
        ),
        sessions=session_factory(engine),
        inbox=inbox,
        outbox=outbox,
        handlers=HANDLERS,
    )
    print("worker running", flush=True)
    try:
        await consumer.run(stop)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))

"""The operator's decoder: `postloan fineract decode FILE...` (or `python -m postloan_fineract_connector.tool`).

Each FILE holds one Kafka record value (raw bytes). One JSON object per line and per event (a bulk
message prints each inner event): the Fineract `type`, `dataschema`, `idempotencyKey`, the decoded
payload and the postloan envelopes it maps to. An undecodable file prints an error naming the
reason (an unknown fingerprint among them) and the exit code is 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from postloan_fineract_connector.domain.avro import DecodeError
from postloan_fineract_connector.domain.mapping import MappingError, MappingOptions, map_message
from postloan_fineract_connector.domain.messages import FineractMessage, read_message
from postloan_fineract_connector.store.schemas import load_store


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def describe(message: FineractMessage, options: MappingOptions) -> list[dict[str, Any]]:
    """One line per event of `message`, each with the envelopes that event maps to."""
    lines = []
    for index, event in enumerate(message.events):
        single = FineractMessage(**{**vars(message), "events": (event,)})
        try:
            envelopes: Any = [
                {"topic": o.topic, **o.envelope.model_dump(mode="json")} for o in map_message(single, options)
            ]
        except MappingError as exc:
            envelopes = {"error": str(exc)}
        lines.append(
            {
                "type": event.type,
                "dataschema": event.dataschema,
                "idempotencyKey": message.idempotency_key,
                "bulkIndex": index if len(message.events) > 1 else None,
                "release": event.release,
                "payload": event.payload,
                "envelopes": envelopes,
            }
        )
    return lines


def decode_files(paths: Sequence[str], out: IO[str], options: MappingOptions | None = None) -> int:
    """Print every file's events; return 2 when any file could not be decoded, else 0."""
    options = options or MappingOptions()
    store = load_store()
    code = 0
    for path in paths:
        try:
            message = read_message(Path(path).read_bytes(), store, lambda _type: True)
        except (DecodeError, OSError) as exc:
            out.write(json.dumps({"file": path, "error": str(exc)}) + "\n")
            code = 2
            continue
        for line in describe(message, options):
            out.write(json.dumps({"file": path, **line}, default=_json_default, ensure_ascii=False) + "\n")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """`decode FILE...`."""
    parser = argparse.ArgumentParser(prog="postloan fineract", description="read Fineract external events")
    commands = parser.add_subparsers(dest="command", required=True)
    decode = commands.add_parser("decode", help="decode files that hold one Kafka record value each")
    decode.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    return decode_files(args.files, sys.stdout)


if __name__ == "__main__":
    raise SystemExit(main())

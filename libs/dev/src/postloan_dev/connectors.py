"""Optional connectors in `postloan up` and the `postloan fineract` tools (issue 18)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from postloan_common.catalog import FINERACT_CONNECTOR, SERVICES, ServiceSpec

# Set (to Fineract's topic name) to run fineract-connector with the platform.
FINERACT_SWITCH = "FINERACT_TOPIC"


def platform_services(environ: Mapping[str, str]) -> tuple[ServiceSpec, ...]:
    """The services `postloan up` runs: every platform service, plus the configured connectors."""
    return (*SERVICES, FINERACT_CONNECTOR) if environ.get(FINERACT_SWITCH) else SERVICES


def register(commands: Any) -> None:
    """Add `postloan fineract decode FILE...` to the CLI's subcommands."""
    fineract = commands.add_parser("fineract", help="Apache Fineract connector tools")
    tools = fineract.add_subparsers(required=True, metavar="TOOL")
    decode = tools.add_parser("decode", help="decode files holding one Fineract record value each")
    decode.add_argument("files", nargs="+", metavar="FILE")
    decode.set_defaults(command=cmd_fineract_decode)


def cmd_fineract_decode(args: argparse.Namespace) -> int:
    """Print each file's Fineract events and the postloan envelopes they map to (exit 2: undecodable)."""
    from postloan_fineract_connector.tool import decode_files

    return decode_files(args.files, sys.stdout)

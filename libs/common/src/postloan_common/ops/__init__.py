"""Operator commands production images need (no embedded servers, no simulator).

`register` adds them to the `postloan` command line; new operator commands (dead letters, outbox
inspection) get their own module here and one line in `register`.
"""

from __future__ import annotations

import argparse

from postloan_common.ops import dlt, migrate, outbox


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add every operator command to `commands`."""
    migrate.register(commands)
    outbox.register(commands)
    dlt.register(commands)

"""Write each service's OpenAPI document to a directory, building the apps without a database.

`python -m postloan_dev.openapi_dump OUT_DIR` writes OUT_DIR/<service>.json; the TypeScript check
(tools/openapi-ts) generates client types from them.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from postloan_common.catalog import SERVICES, ServiceSpec


def service_spec(spec: ServiceSpec) -> dict[str, Any]:
    """The OpenAPI document of one service's app, built without connecting to anything."""
    # Production settings refuse the development defaults; the lifespan (engine, broker) never runs here.
    os.environ.setdefault("POSTLOAN_ENV", "development")
    module = importlib.import_module(f"{spec.package}.main")
    document: dict[str, Any] = module.create_app().openapi()
    return document


def dump(out_dir: Path) -> list[Path]:
    """Write every service's document as OUT_DIR/<name>.json; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in SERVICES:
        path = out_dir / f"{spec.name}.json"
        path.write_text(json.dumps(service_spec(spec), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in dump(Path(sys.argv[1] if len(sys.argv) > 1 else "openapi")):
        print(written_path)

"""The pydantic config every JSON request body shares: unknown fields refused, examples in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict


def request_body(*examples: dict[str, Any]) -> ConfigDict:
    """A request body's `model_config`: `extra="forbid"` and `examples` shown to client generators and docs."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})

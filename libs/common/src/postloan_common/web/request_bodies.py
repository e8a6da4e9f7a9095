"""JSON request bodies: the pydantic config they share, and the schema of a body a route reads raw."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


def request_body(*examples: dict[str, Any]) -> ConfigDict:
    """A request body's `model_config`: `extra="forbid"` and `examples` shown to client generators and docs."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": list(examples)})


def inlined_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its $defs inlined, to declare by hand the body of a route that reads it raw."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(defs[ref.removeprefix("#/$defs/")])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    inlined: dict[str, Any] = walk(schema)
    return inlined

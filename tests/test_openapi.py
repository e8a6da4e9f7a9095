"""Every service's OpenAPI document serves client generators: typed 2xx bodies, operationIds, tags, examples."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import TypeAdapter

from postloan_common.catalog import SERVICES
from postloan_common.web.openapi import is_camel
from postloan_dev.openapi_dump import service_spec

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
# Bodies that are files, not JSON, declare their media type with a binary/string schema.
FILE_TYPES = {"application/pdf", "text/html", "text/csv", "text/plain", "text/markdown"}
PENDING: set[str] = set()  # services whose spec is not typed yet (none)


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def untyped(spec: dict[str, Any], schema: dict[str, Any]) -> str | None:
    """Why a 2xx JSON schema gives a generated client `unknown` or `{}`, or None when it is typed."""
    schema = _resolve(spec, schema)
    if "anyOf" in schema or "oneOf" in schema:
        reasons = [untyped(spec, s) for s in schema.get("anyOf", schema.get("oneOf", []))]
        return next((r for r in reasons if r), None)
    kind = schema.get("type")
    if kind == "array":
        return untyped(spec, schema.get("items", {}))
    if kind in ("string", "integer", "number", "boolean", "null"):
        return None
    if kind == "object" and schema.get("properties"):
        return None
    return f"untyped schema {schema.get('title', schema)!r}"


def problems(service: str) -> list[str]:
    """Everything in `service`'s document a front-end generator could not type."""
    spec = service_spec(next(s for s in SERVICES if s.name == service))
    found: list[str] = []
    seen: dict[str, str] = {}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            where = f"{method.upper()} {path}"
            op_id = op.get("operationId", "")
            if not is_camel(op_id):
                found.append(f"{where}: operationId {op_id!r} is not lowerCamelCase")
            if op_id in seen:
                found.append(f"{where}: operationId {op_id!r} also names {seen[op_id]}")
            seen[op_id] = where
            if not op.get("tags"):
                found.append(f"{where}: no tag")
            found += _responses(spec, where, op)
            found += _request_body(spec, where, op)
    return found


def _responses(spec: dict[str, Any], where: str, op: dict[str, Any]) -> list[str]:
    found = []
    for status, response in op["responses"].items():
        content = response.get("content", {})
        if status.startswith("2") and status != "204":
            if JSON in content:
                schema = content[JSON].get("schema", {})
                reason = untyped(spec, schema) or _not_a_page(spec, schema)
                if reason:
                    found.append(f"{where} {status}: {reason}")
            elif not FILE_TYPES & content.keys():
                found.append(f"{where} {status}: no JSON body schema")
        elif status[0] in "45" and PROBLEM_JSON not in content:
            found.append(f"{where} {status}: error response is not problem+json")
    return found


def _not_a_page(spec: dict[str, Any], schema: dict[str, Any]) -> str | None:
    # Lists share one page shape: a body with `items` also carries `next_cursor`.
    properties = _resolve(spec, schema).get("properties", {})
    if "items" in properties and "next_cursor" not in properties:
        return "a list without next_cursor (answer Page[Item])"
    return None


def _request_body(spec: dict[str, Any], where: str, op: dict[str, Any]) -> list[str]:
    body = op.get("requestBody", {}).get("content", {}).get(JSON)
    if body is None:
        return []
    schema = body.get("schema", {})
    # An optional body is `anyOf: [model, null]`: the model carries the example.
    candidates = [_resolve(spec, s) for s in schema.get("anyOf", [schema])]
    if "example" in body or "examples" in body or any("examples" in c or "example" in c for c in candidates):
        return []
    return [f"{where}: request body has no example"]


@pytest.mark.parametrize(
    "service",
    [
        pytest.param(s.name, marks=pytest.mark.xfail(reason="reporting's typed API is another branch"))
        if s.name in PENDING
        else s.name
        for s in SERVICES
    ],
)
def test_openapi_serves_client_generators(service):
    found = problems(service)
    assert not found, "\n".join(found)


def test_the_check_fails_on_an_untyped_body():
    spec: dict[str, Any] = {"components": {"schemas": {"Free": {"type": "object", "additionalProperties": True}}}}
    assert untyped(spec, {"$ref": "#/components/schemas/Free"})
    assert untyped(spec, {})
    assert untyped(spec, {"type": "array", "items": {}})
    assert untyped(spec, {"type": "object", "properties": {"a": {"type": "string"}}}) is None


def test_every_document_declares_problem_details():
    for spec in SERVICES:
        document = service_spec(spec)
        assert "ProblemDetails" in document["components"]["schemas"], spec.name


@pytest.mark.parametrize("spec", [s for s in SERVICES if s.name not in PENDING], ids=lambda s: s.name)
def test_request_examples_are_valid_bodies(spec):
    """An example a front-end developer copies must pass the route's own validation."""
    service_spec(spec)  # sets the environment an app needs to build
    app = importlib.import_module(f"{spec.package}.main").create_app()
    checked = 0
    for route in _api_routes(app.routes):
        if route.body_field is None:
            continue
        adapter = TypeAdapter(route.body_field.field_info.annotation)
        schema = adapter.json_schema()
        for example in _examples(schema, schema):
            adapter.validate_python(example)
            checked += 1
    assert checked


def _api_routes(routes: Any) -> Iterator[APIRoute]:
    # Included routers stay nested (FastAPI resolves them lazily): walk down to the routes.
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _api_routes(route.original_router.routes)


def _examples(root: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    if "$ref" in schema:
        return _examples(root, root["$defs"][schema["$ref"].rsplit("/", 1)[-1]])
    found = list(schema.get("examples", []))
    for member in schema.get("anyOf", []):
        found += _examples(root, member)
    return found

"""Export the event contracts as JSON schemas and check that a change to a contract is compatible.

    python -m postloan_common.contracts.schema_export [--check] [--force] [folder]

Without `--check` it writes `<type>.v<version>.json` for every contract into `folder` (default: the
repository's `contracts/schemas`), refusing to overwrite a schema with an incompatible one unless
`--force` is given. With `--check` it writes nothing and exits 1 when a file is missing, stale
(differs from the model) or the model changed incompatibly.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from postloan_common.contracts.registry import CONTRACTS

SCHEMA_DIR = Path("contracts") / "schemas"


def schema_filename(type_: str, version: int) -> str:
    return f"{type_}.v{version}.json"


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """The serialization-mode JSON schema of a contract."""
    return model.model_json_schema(mode="serialization")


def render(schema: dict[str, Any]) -> str:
    """The canonical text of a schema file."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export_schemas(folder: Path) -> list[Path]:
    """Write the schema of every registered contract into `folder`; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for (type_, version), model in sorted(CONTRACTS.items()):
        path = folder / schema_filename(type_, version)
        path.write_text(render(schema_of(model)), encoding="utf-8")
        written.append(path)
    return written


# --- compatibility -------------------------------------------------------------------------------


@dataclass
class _Walk:
    """The two schemas being compared (their `$ref`s resolve against these) and what was found so far."""

    old_root: dict[str, Any]
    new_root: dict[str, Any]
    problems: list[str] = field(default_factory=list)


def check_compatible(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """List what in `new` breaks readers or data of `old`; an empty list means compatible.

    Flagged: a property removed, a property's type changed, a new required property (or an optional
    one made required), an enum value removed; recursively through `$ref`/`$defs`, nested objects,
    arrays, maps and `anyOf`/`oneOf` alternatives. Adding optional properties or enum values is fine.
    """
    walk = _Walk(old_root=old, new_root=new)
    _compare(old, new, "$", walk, set())
    return walk.problems


def _resolve(node: Any, root: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    ref: str | None = None
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/") or ref in seen:
            break
        seen.add(ref)
        target: Any = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = target
    return (node if isinstance(node, dict) else {}), ref


def _alternatives(node: dict[str, Any]) -> list[dict[str, Any]] | None:
    for key in ("anyOf", "oneOf"):
        if isinstance(node.get(key), list):
            return [a for a in node[key] if isinstance(a, dict)]
    if isinstance(node.get("allOf"), list) and len(node["allOf"]) == 1:
        return [node["allOf"][0]]
    return None


def _types(node: dict[str, Any], root: dict[str, Any], depth: int = 0) -> frozenset[str]:
    """The set of JSON types (with their `format`) a schema node admits."""
    node, _ = _resolve(node, root)
    alternatives = _alternatives(node)
    if alternatives is not None and depth < 20:
        result: set[str] = set()
        for alternative in alternatives:
            result |= _types(alternative, root, depth + 1)
        return frozenset(result)
    declared = node.get("type")
    if declared is None:
        values = node.get("enum", [node["const"]] if "const" in node else [])
        declared = sorted({_json_type(v) for v in values}) or ["any"]
    names = declared if isinstance(declared, list) else [declared]
    fmt = node.get("format")
    return frozenset(f"{n}:{fmt}" if fmt and n == "string" else str(n) for n in names)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _kind(node: dict[str, Any], root: dict[str, Any]) -> str:
    """A key pairing an old `anyOf` alternative with a new one."""
    resolved, ref = _resolve(node, root)
    if ref is not None:
        return "ref:" + ref.rsplit("/", 1)[-1]
    return "type:" + ",".join(sorted(_types(resolved, root)))


def _compare(old: Any, new: Any, path: str, walk: _Walk, seen: set[tuple[str, str]]) -> None:
    old_root, new_root, problems = walk.old_root, walk.new_root, walk.problems
    old_node, old_ref = _resolve(old, old_root)
    new_node, new_ref = _resolve(new, new_root)
    if old_ref is not None and new_ref is not None:
        if (old_ref, new_ref) in seen:
            return
        seen = seen | {(old_ref, new_ref)}

    old_types, new_types = _types(old_node, old_root), _types(new_node, new_root)
    if old_types != new_types:
        problems.append(f"{path}: type changed from {'|'.join(sorted(old_types))} to {'|'.join(sorted(new_types))}")
        return

    old_alts, new_alts = _alternatives(old_node), _alternatives(new_node)
    if old_alts is not None or new_alts is not None:
        old_list = old_alts if old_alts is not None else [old_node]
        new_list = new_alts if new_alts is not None else [new_node]
        _compare_alternatives(old_list, new_list, path, walk, seen)
        return

    if "enum" in old_node:
        new_values = new_node.get("enum", [new_node["const"]] if "const" in new_node else None)
        if new_values is not None:
            for value in old_node["enum"]:
                if value not in new_values:
                    problems.append(f"{path}: enum value {value!r} removed")
    elif "const" in old_node and "const" in new_node and old_node["const"] != new_node["const"]:
        problems.append(f"{path}: constant changed from {old_node['const']!r} to {new_node['const']!r}")

    old_props: dict[str, Any] = old_node.get("properties") or {}
    new_props: dict[str, Any] = new_node.get("properties") or {}
    old_required = set(old_node.get("required") or ())
    new_required = set(new_node.get("required") or ())
    for name, old_prop in old_props.items():
        if name not in new_props:
            problems.append(f"{path}.{name}: property removed")
        else:
            _compare(old_prop, new_props[name], f"{path}.{name}", walk, seen)
    for name in sorted(new_required - old_required):
        if name in old_props:
            problems.append(f"{path}.{name}: optional property became required")
        else:
            problems.append(f"{path}.{name}: new required property")

    for key, suffix in (("items", "[]"), ("additionalProperties", "{}")):
        if isinstance(old_node.get(key), dict) and isinstance(new_node.get(key), dict):
            _compare(old_node[key], new_node[key], path + suffix, walk, seen)


def _compare_alternatives(
    old_list: list[dict[str, Any]], new_list: list[dict[str, Any]], path: str, walk: _Walk, seen: set[tuple[str, str]]
) -> None:
    old_root, new_root = walk.old_root, walk.new_root
    new_by_kind = {_kind(n, new_root): n for n in new_list}
    unmatched_old = [o for o in old_list if _kind(o, old_root) not in new_by_kind]
    matched_new = {_kind(o, old_root) for o in old_list} & set(new_by_kind)
    unmatched_new = [n for k, n in new_by_kind.items() if k not in matched_new]
    for o in old_list:
        kind = _kind(o, old_root)
        if kind in new_by_kind:
            _compare(o, new_by_kind[kind], path, walk, seen)
    # A renamed model behind a $ref: pair the leftovers one to one when that is unambiguous.
    if len(unmatched_old) == 1 and len(unmatched_new) == 1:
        _compare(unmatched_old[0], unmatched_new[0], path, walk, seen)
    elif unmatched_old:
        walk.problems.append(f"{path}: alternative(s) {[_kind(o, old_root) for o in unmatched_old]} removed")


# --- command line --------------------------------------------------------------------------------


def find_schema_dir(start: Path | None = None) -> Path | None:
    """The nearest `contracts/schemas` at or above `start` (default: the working directory)."""
    for base in (start or Path.cwd(), Path(__file__).resolve()):
        for directory in (base, *base.parents):
            if (directory / SCHEMA_DIR).is_dir():
                return directory / SCHEMA_DIR
    return None


def check_folder(folder: Path) -> tuple[list[str], list[str]]:
    """Compare `folder` with the models: (incompatibilities, missing/stale/orphan files)."""
    incompatible: list[str] = []
    outdated: list[str] = []
    expected: set[str] = set()
    for (type_, version), model in sorted(CONTRACTS.items()):
        name = schema_filename(type_, version)
        expected.add(name)
        path = folder / name
        current = schema_of(model)
        if not path.is_file():
            outdated.append(f"{name}: missing")
            continue
        text = path.read_text(encoding="utf-8")
        try:
            stored = json.loads(text)
        except json.JSONDecodeError as exc:
            outdated.append(f"{name}: not valid JSON ({exc})")
            continue
        incompatible.extend(f"{type_} v{version}: {p}" for p in check_compatible(stored, current))
        if text != render(current):
            outdated.append(f"{name}: stale (differs from the model)")
    for path in sorted(folder.glob("*.json")):
        if path.name not in expected:
            outdated.append(f"{path.name}: no registered contract (removed?)")
    return incompatible, outdated


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m postloan_common.contracts.schema_export")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 unless up to date")
    parser.add_argument("--force", action="store_true", help="overwrite even with incompatible schemas")
    parser.add_argument("folder", nargs="?", type=Path, help="default: the repository's contracts/schemas")
    args = parser.parse_args(argv)

    folder: Path | None = args.folder or find_schema_dir()
    if folder is None:
        print(f"no {SCHEMA_DIR} found above {Path.cwd()}; pass the folder", file=sys.stderr)
        return 2
    incompatible, outdated = check_folder(folder) if folder.is_dir() else ([], ["folder missing"])

    if incompatible:
        print("Incompatible contract changes (keep the old model and add a new version instead):")
        for line in incompatible:
            print(f"  {line}")
    if args.check:
        if outdated:
            print("Schema files out of date (run `make schemas` or this module without --check):")
            for line in outdated:
                print(f"  {line}")
        ok = not incompatible and not outdated
        print("schemas up to date" if ok else "schema check failed")
        return 0 if ok else 1
    if incompatible and not args.force:
        print("nothing written; use --force to overwrite anyway")
        return 1
    written = export_schemas(folder)
    print(f"wrote {len(written)} schemas to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A reader generated per writer schema: Avro binary decoded as fastavro decodes it, several times faster.

fastavro's reader interprets the schema for every value; Fineract's payloads are wide records whose
fields are mostly null unions, where that interpretation is most of the cost. `compile_reader` turns a
self-contained schema (`avro.expand`) into Python source once, one function per record type, with every
field read inline. It returns what `fastavro.schemaless_reader` returns for the same bytes, decimals
included (tests/unit/test_avro_reader.py compares both on random data of every stored schema).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from decimal import Context
from typing import Any

Reader = Callable[[bytes, int], tuple[Any, int]]
_NAMED = ("record", "error", "enum", "fixed")
_FLOAT = struct.Struct("<f").unpack_from
_DOUBLE = struct.Struct("<d").unpack_from


class AvroBodyError(ValueError):
    """Bytes that are not a value of the schema (a bad union index or length, a truncated body)."""


def _long(buf: bytes, pos: int) -> tuple[int, int]:
    """A zig-zag varint (Avro `int` and `long`) at `pos`, and the position after it."""
    b = buf[pos]
    pos += 1
    n = b & 0x7F
    shift = 7
    while b & 0x80:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
    return (n >> 1) ^ -(n & 1), pos


def _block(buf: bytes, pos: int) -> tuple[int, int]:
    """An array or map block's item count (the byte size of a negative count skipped)."""
    count, pos = _long(buf, pos)
    if count < 0:
        count = -count
        _size, pos = _long(buf, pos)
    return count, pos


class _Generator:
    """Python source for one schema: a function per record type, other types inline."""

    def __init__(self) -> None:
        self.functions: dict[str, str] = {}
        self.named: dict[str, Any] = {}
        self.constants: dict[str, Any] = {}
        self.counter = 0

    def fresh(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def constant(self, value: Any) -> str:
        name = self.fresh("_k")
        self.constants[name] = value
        return name

    def record_function(self, schema: dict[str, Any], namespace: str) -> str:
        """The name of the function reading record `schema` (generated on first sight)."""
        full = _full_name(schema, namespace)
        fn = "_r_" + "".join(c if c.isalnum() else "_" for c in full)
        if full in self.functions:
            return fn
        self.functions[full] = ""  # recursion guard: a record may refer to itself
        space = full.rpartition(".")[0]
        lines = [f"def {fn}(buf, pos):", "    _end = len(buf)"]
        names = []
        for field in schema["fields"]:
            target = self.fresh("v")
            names.append((field["name"], target))
            lines += self.read(field["type"], target, space, 1)
        items = ", ".join(f"{name!r}: {target}" for name, target in names)
        lines.append(f"    return {{{items}}}, pos")
        self.functions[full] = "\n".join(lines)
        return fn

    def read(self, schema: Any, target: str, namespace: str, depth: int) -> list[str]:
        """Statements that read one value of `schema` at `pos` into `target` and advance `pos`."""
        pad = "    " * depth
        if isinstance(schema, str):
            return self._primitive_or_named(schema, target, namespace, depth)
        if isinstance(schema, list):
            return self._union(schema, target, namespace, depth)
        kind = schema["type"]
        if "logicalType" in schema and not (kind == "bytes" and schema["logicalType"] == "decimal"):
            raise NotImplementedError(f"logical type {schema['logicalType']} is read by fastavro")
        if kind in _NAMED:
            self.named[_full_name(schema, namespace)] = schema
        if kind in ("record", "error"):
            return [f"{pad}{target}, pos = {self.record_function(schema, namespace)}(buf, pos)"]
        if kind == "enum":
            symbols = self.constant(tuple(schema["symbols"]))
            return [f"{pad}{target}, pos = _long(buf, pos)", f"{pad}{target} = {symbols}[{target}]"]
        if kind == "fixed":
            size = int(schema["size"])
            return [
                f"{pad}if pos + {size} > len(buf): raise AvroBodyError('fixed beyond the end of the value')",
                f"{pad}{target} = buf[pos:pos + {size}]",
                f"{pad}pos += {size}",
            ]
        if kind in ("array", "map"):
            return self._repeated(schema, target, namespace, depth)
        if kind == "bytes" and "logicalType" in schema:
            return self._decimal(schema, target, depth)
        return self.read(kind, target, namespace, depth)  # a primitive written as {"type": "long", ...}

    def _primitive_or_named(self, name: str, target: str, namespace: str, depth: int) -> list[str]:
        pad = "    " * depth
        simple = {
            "null": [f"{pad}{target} = None"],
            "boolean": [f"{pad}{target} = buf[pos] != 0", f"{pad}pos += 1"],
            "int": self._varint(target, depth),
            "long": self._varint(target, depth),
            "float": [f"{pad}({target},) = _FLOAT(buf, pos)", f"{pad}pos += 4"],
            "double": [f"{pad}({target},) = _DOUBLE(buf, pos)", f"{pad}pos += 8"],
            "bytes": [*self._length(depth), f"{pad}{target} = buf[pos:_e]", f"{pad}pos = _e"],
            "string": [*self._length(depth), f"{pad}{target} = str(buf[pos:_e], 'utf-8')", f"{pad}pos = _e"],
        }
        if name in simple:
            return simple[name]
        full = name if "." in name else f"{namespace}.{name}" if namespace else name
        if full not in self.named:
            raise ValueError(f"the schema refers to {full} before defining it")
        definition = self.named[full]
        return self.read(definition, target, full.rpartition(".")[0], depth)

    def _varint(self, target: str, depth: int) -> list[str]:
        """A zig-zag varint inline when it is one byte (most ids, lengths and counts), else `_long`."""
        pad = "    " * depth
        return [
            f"{pad}{target} = buf[pos]",
            f"{pad}if {target} < 128:",
            f"{pad}    {target} = ({target} >> 1) ^ -({target} & 1)",
            f"{pad}    pos += 1",
            f"{pad}else:",
            f"{pad}    {target}, pos = _long(buf, pos)",
        ]

    def _length(self, depth: int) -> list[str]:
        """A bytes or string length into `_e`, the end of the span (`pos` its start), checked against `_end`."""
        pad = "    " * depth
        return [
            *self._varint("_e", depth),
            f"{pad}if _e < 0 or pos + _e > _end:",
            f"{pad}    raise AvroBodyError('length beyond the end of the value')",
            f"{pad}_e += pos",
        ]

    def _union(self, branches: list[Any], target: str, namespace: str, depth: int) -> list[str]:
        pad = "    " * depth
        index = self.fresh("_i")
        lines = [f"{pad}{index} = buf[pos]"]
        for n, branch in enumerate(branches):
            # A one-byte zig-zag index n is the byte 2n; longer ones are not valid for these unions.
            lines.append(f"{pad}{'if' if n == 0 else 'elif'} {index} == {2 * n}:")
            lines.append(f"{pad}    pos += 1")
            lines += self.read(branch, target, namespace, depth + 1)
        lines.append(f"{pad}else:")
        lines.append(f"{pad}    raise AvroBodyError('union index out of range')")
        return lines

    def _repeated(self, schema: dict[str, Any], target: str, namespace: str, depth: int) -> list[str]:
        pad = "    " * depth
        item, count, key = self.fresh("_v"), self.fresh("_n"), self.fresh("_key")
        is_map = schema["type"] == "map"
        lines = [f"{pad}{target} = {{}}" if is_map else f"{pad}{target} = []"]
        lines.append(f"{pad}{count}, pos = _block(buf, pos)")
        lines.append(f"{pad}while {count}:")
        lines.append(f"{pad}    for _ in range({count}):")
        if is_map:
            lines += self._primitive_or_named("string", key, namespace, depth + 2)
        lines += self.read(schema["values"] if is_map else schema["items"], item, namespace, depth + 2)
        lines.append(f"{pad}        {target}[{key}] = {item}" if is_map else f"{pad}        {target}.append({item})")
        lines.append(f"{pad}    {count}, pos = _block(buf, pos)")
        return lines

    def _decimal(self, schema: dict[str, Any], target: str, depth: int) -> list[str]:
        pad = "    " * depth
        if "precision" not in schema:
            raise NotImplementedError("a decimal without a precision is left to fastavro")
        # fastavro: the unscaled value in a context of the schema's precision, then scaled by -scale.
        context = self.constant(Context(prec=int(schema["precision"])))
        scale = -int(schema.get("scale", 0))
        return [
            *self._length(depth),
            f"{pad}{target} = {context}.create_decimal(int.from_bytes(buf[pos:_e], 'big', signed=True))"
            f".scaleb({scale}, {context})",
            f"{pad}pos = _e",
        ]


def _full_name(schema: Mapping[str, Any], namespace: str) -> str:
    name = str(schema["name"])
    if "." in name:
        return name
    space = schema.get("namespace", namespace)
    return f"{space}.{name}" if space else name


def compile_reader(schema: Any) -> Reader:
    """A function `(buf, pos) -> (value, end)` reading one value of the self-contained `schema`."""
    generator = _Generator()
    lines = generator.read(schema, "value", "", 1)
    body = "\n".join(["def _read(buf, pos):", "    _end = len(buf)", *lines, "    return value, pos"])
    source = "\n\n".join([*generator.functions.values(), body])
    scope: dict[str, Any] = {
        "_long": _long,
        "_block": _block,
        "_FLOAT": _FLOAT,
        "_DOUBLE": _DOUBLE,
        "AvroBodyError": AvroBodyError,
        **generator.constants,
    }
    exec(compile(source, "<avro reader>", "exec"), scope)  # noqa: S102 - source generated from a schema
    reader: Reader = scope["_read"]
    return reader

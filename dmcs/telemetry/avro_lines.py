"""Confluent-framed Avro messages straight to InfluxDB line protocol: one compiled function per
schema, the EFD writer's per-message work.

Why compiled: fastavro's reader calls ``fo.read`` once per field byte and builds a dict that
is read once; for the EFD writer that was half of each message's cost. For a schema of flat
fields (boolean, int, long, float, double, string, and arrays of them: every SAL topic) the
schema is turned into one Python function that reads the body with index arithmetic and
``struct``, claims the point's time and returns the line from one f-string, with no
intermediate dict. Other schemas (unions, maps, nested records, bytes, enums) go through
fastavro and the per-field formatter. Both raise :data:`DECODE_ERRORS` on a malformed body,
including bytes left after the record.

NaN and ±inf cannot be written to InfluxDB: a record holding one is formatted by the per-field
formatter, which leaves them out.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from typing import Any

from fastavro import parse_schema, schemaless_reader

from dmcs.telemetry.line_protocol import escape_measurement, escape_string, generic_formatter

#: (message, Kafka timestamp in µs, claim, TAI-UTC seconds) -> one newline-terminated line.
#: `claim` turns a wanted time (µs) into the free time used, see EfdWriter.
Converter = Callable[[bytes, int, Callable[[int], int], float], str]

BODY_START = 5  # Confluent wire format: magic byte 0, 4-byte schema id


class TrailingBytes(ValueError):
    """The record ended before the message did."""


DECODE_ERRORS = (EOFError, ValueError, IndexError, TypeError, KeyError, struct.error,
                 UnicodeDecodeError)

_INTEGER = {"int", "long"}
_FLOAT = {"float", "double"}
_SIMPLE = _INTEGER | _FLOAT | {"boolean", "string"}
_STRUCTS = {"double": ("_d", 8), "float": ("_f", 4)}


def _type_name(avro_type: Any) -> str:
    return avro_type if isinstance(avro_type, str) else str(avro_type.get("type"))


def _varint(b: bytes, p: int, x: int) -> tuple[int, int]:
    """The rest of a multi-byte varint whose first byte `x` was read; (zigzag value, end)."""
    n = x & 0x7F
    shift = 7
    while True:
        x = b[p]
        p += 1
        n |= (x & 0x7F) << shift
        if not x & 0x80:
            return (n >> 1) ^ -(n & 1), p
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _read_code(kind: str, target: str, indent: str) -> list[str]:
    """Lines reading one value of a simple Avro type at `p` into `target`."""
    if kind in _INTEGER:
        return [f"{indent}x = b[p]", f"{indent}p += 1",
                f"{indent}if x & 0x80:", f"{indent}    {target}, p = _varint(b, p, x)",
                f"{indent}else:", f"{indent}    {target} = (x >> 1) ^ -(x & 1)"]
    if kind in _STRUCTS:
        unpack, size = _STRUCTS[kind]
        return [f"{indent}{target} = {unpack}(b, p)[0]", f"{indent}p += {size}"]
    if kind == "boolean":
        return [f"{indent}{target} = b[p] != 0", f"{indent}p += 1"]
    return [*_read_code("long", "n", indent),
            f"{indent}if n < 0 or p + n > len(b):",
            f"{indent}    raise EOFError('string runs past the end of the message')",
            f"{indent}{target} = b[p:p + n].decode()", f"{indent}p += n"]


def _array_code(item: str, target: str) -> list[str]:
    """Lines reading an array (blocks of items until a zero count) into `target`."""
    return [f"    {target} = []", *_read_code("long", "c", "    "),
            "    while c:",
            "        if c < 0:",
            "            c = -c",
            *_read_code("long", "_size", "            "),
            "        for _ in range(c):",
            *_read_code(item, "w", "            "),
            f"            {target}.append(w)",
            *_read_code("long", "c", "        ")]


def _piece(name: str, kind: str, var: str) -> str:
    """The f-string piece `name=value` of one scalar."""
    if kind in _INTEGER:
        return f"{name}={{{var}}}i"
    if kind == "string":
        return f'{name}=\\"{{{var}_e}}\\"'
    return f"{name}={{{var}}}"


def _array_piece(name: str, item: str, var: str) -> str:
    value = '\\"{_esc(v)}\\"' if item == "string" else "{v}" + ("i" if item in _INTEGER else "")
    return f"\"\".join([f',{name}{{i}}={value}' for i, v in enumerate({var})])"


def compile_converter(measurement: str, schema: dict[str, Any]) -> Converter:
    """The fastest converter of messages of `schema` to lines of `measurement`."""
    fields = [(f["name"], f["type"]) for f in schema.get("fields", [])]
    code = ["def convert(b, kafka_us, claim, tai_offset):", f"    p = {BODY_START}"]
    pieces: list[str] = []
    arrays: list[str] = []
    floats: list[str] = []
    names: list[str] = []
    for number, (name, avro_type) in enumerate(fields):
        kind, var = _type_name(avro_type), f"v{number}"
        names.append(var)
        if kind in _SIMPLE:
            code += _read_code(kind, var, "    ")
            if kind == "string":
                code.append(f"    {var}_e = {var}.replace('\\\\', '\\\\\\\\')"
                            f".replace('\"', '\\\\\"')")
            if kind in _FLOAT and name != "private_efdStamp":
                floats.append(var)
            pieces.append(f"{name}={{efd}}" if name == "private_efdStamp"
                          else _piece(name, kind, var))
        elif kind == "array" and _type_name(avro_type["items"]) in _SIMPLE:
            item = _type_name(avro_type["items"])
            code += _array_code(item, var)
            if item in _FLOAT:
                floats.append(f"sum({var})")
            arrays.append(_array_piece(name, item, var))
        else:
            return fastavro_converter(measurement, schema)
    if not pieces:
        return fastavro_converter(measurement, schema)
    wanted = _wanted_time([n for n, _ in fields])
    head = escape_measurement(measurement).replace("{", "{{").replace("}", "}}")
    tail = "".join(f" + {expr}" for expr in arrays)
    record = ", ".join(f"{name!r}: {var}" for (name, _), var in zip(fields, names, strict=True))
    code += [
        "    if p != len(b):",
        "        raise _Trailing(f'{len(b) - p} bytes after the record')",
        f"    ts = claim({wanted})",
        "    efd = ts / 1e6",
    ]
    if floats:
        code += [f"    chk = {' + '.join(floats)}",
                 "    if chk - chk != 0.0:  # NaN or +-inf somewhere: left out, field by field",
                 f"        return _slow({{{record}, 'private_efdStamp': efd}}, ts)"]
    code.append(f'    return f"{head} {",".join(pieces)}"{tail} + f" {{ts}}\\n"')
    namespace: dict[str, Any] = {
        "_varint": _varint, "_d": struct.Struct("<d").unpack_from,
        "_f": struct.Struct("<f").unpack_from, "_esc": escape_string, "_Trailing": TrailingBytes,
        "_slow": generic_formatter(measurement),
    }
    exec(compile("\n".join(code) + "\n", f"<line protocol of {measurement}>", "exec"),
         namespace)
    converter: Converter = namespace["convert"]
    return converter


def _wanted_time(names: list[str]) -> str:
    """The point's time (µs) as an expression of the decoded fields: `private_efdStamp` (UTC,
    as the site's Telegraf takes it), else `private_sndStamp` less TAI-UTC (a writer that
    leaves efdStamp 0), else the Kafka timestamp."""
    terms = []
    if "private_efdStamp" in names:
        terms.append(f"round(v{names.index('private_efdStamp')} * 1e6)")
    if "private_sndStamp" in names:
        terms.append(f"round((v{names.index('private_sndStamp')} - tai_offset) * 1e6)")
    return " or ".join([*terms, "kafka_us"])


def fastavro_converter(measurement: str, schema: dict[str, Any]) -> Converter:
    """Any Avro schema, through fastavro and the per-field formatter."""
    parsed = parse_schema(schema)
    fmt = generic_formatter(measurement)

    def convert(raw: bytes, kafka_us: int, claim: Callable[[int], int],
                tai_offset: float) -> str:
        buf = io.BytesIO(raw)
        buf.seek(BODY_START)
        record: Any = schemaless_reader(buf, parsed, None)
        if buf.tell() != len(raw):
            raise TrailingBytes(f"{len(raw) - buf.tell()} bytes after the record")
        efd, snd = record.get("private_efdStamp"), record.get("private_sndStamp")
        if efd:
            wanted = round(efd * 1e6)
        else:
            wanted = round((snd - tai_offset) * 1e6) if snd else kafka_us
        ts = claim(wanted)
        record["private_efdStamp"] = ts / 1e6
        return fmt(record, ts)

    return convert

"""Malformed request bodies, by name: what a broken or hostile client can put on the wire.

Each fits the smallest body limit of the app (16 KiB, booking sessions) unless its name says
"over", so every route's parser is reached, not just its size check.
"""

from __future__ import annotations


def nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"null" + b"}" * depth


MALFORMED: dict[str, bytes] = {
    "empty": b"",
    "whitespace": b" \r\n\t ",
    "not UTF-8": b"\xff\xfe\xfa\x80{}",
    "UTF-16 JSON": '{"source": "x"}'.encode("utf-16"),
    "Latin-1 JSON": '{"source": "Café", "agents": []}'.encode("latin-1"),
    "truncated object": b'{"regarding": {"entity": "lead", "id": "',
    "truncated string escape": b'{"source": "\\u12',
    "trailing garbage": b'{"source": "x", "agents": []} {"again": true}',
    "JSON null": b"null",
    "JSON array": b"[]",
    "JSON string": b'"appointment.created"',
    "JSON number": b"42",
    "bare NaN": b"NaN",
    "NaN and Infinity members": b'{"source": NaN, "plan": Infinity, "agents": [-Infinity], "type": NaN, "data": NaN, "regarding": NaN}',
    "huge integer": b'{"source": ' + b"9" * 5000 + b"}",
    "huge exponent": b'{"source": 1e999999, "regarding": 1e999999}',
    "duplicate keys": b'{"source": "a", "source": "b", "agents": [], "agents": 5, "type": "appointment.created", "type": 1}',
    "lone surrogate escape": b'{"source": "\\ud800", "agents": [], "type": "appointment.created", "data": {"appointmentId": "\\udfff"}}',
    "NUL escape": b'{"source": "a\\u0000b", "regarding": {"entity": "lead\\u0000", "id": "x"}, "data": "\\u0000"}',
    "raw control characters": b'{"source": "a\x01\x02b", "agents": [], "regarding": "\x01"}',
    "byte order mark": b"\xef\xbb\xbf{}",
    "10,000 nested arrays (over 16 KiB)": nested_arrays(10_000),
    "5,000 nested arrays": nested_arrays(5_000),
    "2,000 nested objects": nested_objects(2_000),
    "wrong types everywhere": b'{"source": [], "agents": {}, "window": 1, "regarding": [], "appointmentId": 5, "type": [], "data": "x"}',
}

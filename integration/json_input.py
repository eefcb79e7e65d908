"""Request bodies as JSON, for every flow: decoding that never crashes, and JSON paths.

``json.loads`` raises more than ``JSONDecodeError`` on hostile input: ``RecursionError`` for
deeply nested arrays, a plain ``ValueError`` for integers over 4,300 digits,
``UnicodeDecodeError`` for bytes that are not UTF-8. All of them mean "not JSON" (400).
"""

from __future__ import annotations

import json
from typing import Any

from integration.errors import FieldProblem, InvalidInput


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidInput("The body is not JSON.", [FieldProblem("$", "is not valid JSON")]) from None


def count_json_values(body: bytes) -> tuple[int, int]:
    """At most how many ``(containers, values)`` a JSON text decodes to, counted without decoding it.

    Every ``{`` and ``[`` may open a container, and every value but the last is followed by a
    ``,``; counting these bytes everywhere, strings included, is an upper bound that costs
    three passes at memory speed and no copy. It is how a caller bounds the memory a parse
    may take before it parses (a 3-byte ``{},`` costs about 90 bytes as a Python object).
    Text full of commas or brackets counts too: the bounds a caller sets leave room for it.
    """
    containers = body.count(b"{") + body.count(b"[")
    return containers, body.count(b",") + containers + 1


def json_path(loc: tuple[int | str, ...], prefix: str = "$") -> str:
    """``("agents", 3, "email")`` -> ``$.agents[3].email``: where a pydantic error points."""
    return prefix + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)

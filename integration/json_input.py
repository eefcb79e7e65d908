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


def json_path(loc: tuple[int | str, ...], prefix: str = "$") -> str:
    """``("agents", 3, "email")`` -> ``$.agents[3].email``: where a pydantic error points."""
    return prefix + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)

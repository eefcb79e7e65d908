"""The ``Prefer`` request header (RFC 7240): which preferences a request names."""

from __future__ import annotations

MAX_PREFER_LENGTH = 4096
"""A longer header is ignored whole (no preference applies): nothing legitimate comes near it."""


def preference_names(header: str | None) -> set[str]:
    """The preference tokens, lowercased; values and parameters are skipped (quoted strings may hold ``,`` or ``;``).

    ``Prefer: return=minimal, Respond-Async; wait=10`` -> ``{"return", "respond-async"}``.
    """
    if not header or len(header) > MAX_PREFER_LENGTH:
        return set()
    names: set[str] = set()
    name: list[str] = []
    in_name, in_quotes, escaped = True, False, False
    for char in header + ",":
        if in_quotes:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_quotes = False
            continue
        if char == '"':
            in_quotes = True
        elif char == ",":
            token = "".join(name).strip().lower()
            if token:
                names.add(token)
            name, in_name = [], True
        elif char in ";=":
            in_name = False
        elif in_name:
            name.append(char)
    return names


def prefers_async(header: str | None) -> bool:
    return "respond-async" in preference_names(header)

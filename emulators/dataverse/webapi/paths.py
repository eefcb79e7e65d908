"""Resource paths: `set`, `set(<guid>)`, `set(k='v',k2=1)`, `/nav`, `/$ref`, and bind references."""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulators.dataverse.model.schema import Table
from emulators.dataverse.model.service_errors import ServiceError, bad_query
from emulators.dataverse.model.values import parse_guid

API_PREFIX = "/api/data/v9.2/"
# Characters Dataverse refuses inside alternate-key values (docs/dataverse-webapi.md#36-alternate-keys).
UNSUPPORTED_KEY_CHARACTERS = set("/<>*%&:\\?+")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True)
class Segment:
    name: str
    key: str | None = None  # the raw text between the parentheses


@dataclass(frozen=True)
class KeyRef:
    """A row reference: by primary key (`id`) or by alternate-key values."""

    id: str | None = None
    values: tuple[tuple[str, object], ...] = ()

    def url_text(self) -> str:
        if self.id is not None:
            return self.id
        return ",".join(f"{k}={_format_key_value(v)}" for k, v in self.values)


def _format_key_value(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def split_segments(path: str) -> list[Segment]:
    """Split on '/' outside quotes; `name(key)` segments keep their key text."""
    segments: list[Segment] = []
    i = 0
    while i <= len(path):
        name_end = i
        while name_end < len(path) and path[name_end] not in "(/":
            name_end += 1
        name = path[i:name_end]
        key = None
        j = name_end
        if j < len(path) and path[j] == "(":
            j += 1
            start = j
            in_quote = False
            while j < len(path):
                if path[j] == "'":
                    if in_quote and j + 1 < len(path) and path[j + 1] == "'":
                        j += 2
                        continue
                    in_quote = not in_quote
                elif path[j] == ")" and not in_quote:
                    break
                j += 1
            if j >= len(path):
                raise bad_query(f"Bad Request - Error in query syntax: unbalanced parentheses in '{path}'.")
            key = path[start:j]
            j += 1
        segments.append(Segment(name, key))
        if j >= len(path):
            break
        if path[j] != "/":
            raise bad_query(f"Bad Request - Error in query syntax near position {j} in '{path}'.")
        i = j + 1
        if i == len(path):
            break
    return segments


def _split_key_parts(text: str) -> list[str]:
    parts, current, in_quote, i = [], [], False, 0
    while i < len(text):
        char = text[i]
        if char == "'":
            if in_quote and i + 1 < len(text) and text[i + 1] == "'":
                current.append("''")
                i += 2
                continue
            in_quote = not in_quote
        if char == "," and not in_quote:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return parts


def _key_value(raw: str, table: Table) -> object:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == "'" and raw[-1] == "'":
        value = raw[1:-1].replace("''", "'")
        if UNSUPPORTED_KEY_CHARACTERS.intersection(value):
            raise ServiceError(
                400,
                "0x80060888",
                f"The key value for '{table.logical_name}' contains a character that is not supported in "
                "alternate key values (/ < > * % & : \\ ? +); query with $filter instead.",
            )
        return value
    guid = parse_guid(raw)
    if guid is not None:
        return guid
    if _NUMBER.match(raw):
        return float(raw) if "." in raw else int(raw)
    if raw in ("true", "false"):
        return raw == "true"
    raise bad_query(f"The key value '{raw}' is not a valid literal.")


def parse_key(table: Table, text: str) -> KeyRef:
    """A key predicate checked against the table's primary and alternate keys (docs/dataverse-webapi.md#35-upsert-by-key, #36-alternate-keys)."""
    invalid = ServiceError(
        400,
        "0x80060888",
        f"The key in the request URI is not valid for resource '{table.type_name}'. Ensure that the names and "
        f"number of key properties match the declared or alternate key properties for the resource "
        f"'{table.type_name}'.",
    )
    parts = _split_key_parts(text)
    if len(parts) == 1 and "=" not in parts[0].split("'")[0]:
        guid = parse_guid(parts[0].strip())
        if guid is None:
            raise invalid
        return KeyRef(id=guid)
    values: list[tuple[str, object]] = []
    for part in parts:
        name, sep, raw = part.partition("=")
        if not sep:
            raise invalid
        values.append((name.strip(), _key_value(raw, table)))
    names = {name for name, _ in values}
    if len(names) != len(values):
        raise invalid
    if names == {table.primary_key} and table.logical_name != "systemuser":
        guid = values[0][1]
        if not isinstance(guid, str) or parse_guid(guid) is None:
            raise invalid
        return KeyRef(id=guid)
    if not any(names == set(key) for key in table.keys):
        raise invalid
    return KeyRef(values=tuple(values))


def strip_service_root(reference: str) -> str:
    """`http://host/api/data/v9.2/x(1)`, `/x(1)` and `x(1)` -> `x(1)`."""
    marker = reference.find(API_PREFIX)
    if marker >= 0:
        return reference[marker + len(API_PREFIX) :]
    return reference.lstrip("/")

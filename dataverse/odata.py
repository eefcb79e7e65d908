"""OData literals, key predicates and filters, escaped so no value can change a query's meaning."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import quote

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
KEY_FORBIDDEN = frozenset("/<>*%&:\\?+")
"""Characters Dataverse cannot take inside a key predicate; filter on the column instead."""

IN_FUNCTION = "Microsoft.Dynamics.CRM.In"
_SEPARATOR_LEN = len("%2C")


def is_guid(value: object) -> bool:
    return isinstance(value, uuid.UUID) or (isinstance(value, str) and bool(_GUID.match(value)))


def guid(value: str | uuid.UUID) -> str:
    """A GUID in the canonical form Dataverse expects (lowercase, no braces), or ValueError."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str) or not _GUID.match(value):
        raise ValueError("not a GUID (expected 8-4-4-4-12 hexadecimal digits)")
    return value.lower()


def literal(value: Any) -> str:
    """``value`` as an OData literal for ``$filter`` or a key predicate.

    Strings are single-quoted with ``'`` doubled; GUIDs (``uuid.UUID``) and numbers are bare;
    datetimes must be timezone-aware and are written in UTC with ``Z``.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("OData has no literal for NaN or infinity")
        return repr(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("OData has no literal for NaN or infinity")
        return format(value, "f")
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("datetime literals need a timezone; naive datetimes are ambiguous")
        return value.astimezone(timezone.utc).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no OData literal for {type(value).__name__}")


def key(value: str | uuid.UUID | Mapping[str, Any]) -> str:
    """The key predicate (without parentheses) for a GUID or an alternate key ``{column: value}``.

    The result is percent-encoded, ready for a URL path. Values holding a character Dataverse
    refuses in keys (``/ < > * % & : \\ ? +``) raise ValueError: query with ``$filter`` instead.
    """
    if not isinstance(value, Mapping):
        return guid(value)
    if not value:
        raise ValueError("an alternate key needs at least one column")
    parts = []
    for column, column_value in value.items():
        if not isinstance(column, str) or not _NAME.match(column):
            raise ValueError(f"invalid key column name {column!r}")
        if isinstance(column_value, str):
            bad = sorted(set(column_value) & KEY_FORBIDDEN)
            if bad:
                raise ValueError(
                    f"key column {column} holds {' '.join(bad)}, which Dataverse keys cannot contain; use a $filter query"
                )
        if column_value is None:
            raise ValueError(f"key column {column} is null")
        parts.append(f"{column}={quote(literal(column_value), safe=chr(39))}")
    return ",".join(parts)


def bind(entity_set: str, row_id: str | uuid.UUID | Mapping[str, Any]) -> str:
    """An ``@odata.bind`` value: ``/<entity_set>(<key>)``."""
    return f"/{entity_set_name(entity_set)}({key(row_id)})"


def entity_set_name(entity_set: str) -> str:
    """Validate an entity set name (they go into URL paths verbatim)."""
    if not isinstance(entity_set, str) or not _NAME.match(entity_set):
        raise ValueError(f"invalid entity set name {entity_set!r}")
    return entity_set


def column_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"invalid column name {name!r}")
    return name


def in_filters(column: str, values: Iterable[Any], max_url_chars: int = 4000) -> list[str]:
    """``Microsoft.Dynamics.CRM.In`` filters over ``values``, split so each stays under ``max_url_chars``.

    Length is measured percent-encoded, as it travels in the URL. Duplicates are dropped,
    order kept; no values gives no filters (the caller has nothing to query).
    """
    column_name(column)
    head = f"{IN_FUNCTION}(PropertyName='{column}',PropertyValues=["
    tail = "])"
    overhead = _encoded_len(head) + _encoded_len(tail)
    filters: list[str] = []
    chunk: list[str] = []
    size = overhead
    seen: set[str] = set()
    for value in values:
        text = value if isinstance(value, str) else literal(value)
        if text in seen:
            continue
        seen.add(text)
        item = json.dumps(text, ensure_ascii=False)
        item_len = _encoded_len(item) + (_SEPARATOR_LEN if chunk else 0)
        if overhead + _encoded_len(item) > max_url_chars:
            raise ValueError("a single value is longer than max_url_chars")
        if chunk and size + item_len > max_url_chars:
            filters.append(head + ",".join(chunk) + tail)
            chunk, size, item_len = [], overhead, _encoded_len(item)
        chunk.append(item)
        size += item_len
    if chunk:
        filters.append(head + ",".join(chunk) + tail)
    return filters


def _encoded_len(text: str) -> int:
    return len(quote(text, safe=""))

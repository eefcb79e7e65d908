"""Pure request builders: each returns a :class:`Request` value and performs no I/O.

The client sends a ``Request`` alone or serialises it inside a ``$batch``, so every
operation is built once, and tests can check a request without HTTP. ``idempotent`` says
whether sending it twice is harmless; only idempotent requests are retried after a 5xx or
a timeout (a 429 or a refused connection never reached Dataverse and is always retried).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

from dataverse import headers as h
from dataverse.odata import column_name, entity_set_name, key

Key = str | uuid.UUID | Mapping[str, Any]
Only = Literal["create", "update"] | None

BULK_TIMEOUT = 120.0
"""Seconds a bulk action may take: Dataverse's own synchronous limit is about two minutes."""


@dataclass(frozen=True)
class Request:
    """One Web API call. ``path`` is relative to ``/api/data/v9.2/`` (or an absolute nextLink, or ``$n``)."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    """A raw body (``$batch``); ``json`` and ``content`` are never both set."""
    idempotent: bool = False
    settled_on_retry: frozenset[int] = frozenset()
    """Statuses that, on a retried attempt, mean an earlier attempt already took effect."""
    answered: frozenset[int] = frozenset()
    """Error statuses handed back to the caller instead of raised (a ``$batch`` reports failed parts in a 400)."""
    timeout: float | None = None

    @property
    def entity_set(self) -> str:
        """The entity set addressed, for logs (never the key: alternate keys hold personal data)."""
        path = self.path.split("?", 1)[0]
        if path.startswith(("http://", "https://")):
            path = path.split(h.API_PATH, 1)[-1]
        return path.split("(", 1)[0].split("/", 1)[0]

    @property
    def target(self) -> str:
        """Path plus encoded query string, as it goes on the request line."""
        if not self.params:
            return self.path
        return f"{self.path}?{encode_params(self.params)}"


def encode_params(params: Iterable[tuple[str, str]]) -> str:
    """Query string with ``$`` names kept literal and values percent-encoded (spaces as %20, never ``+``)."""
    return "&".join(f"{name}={quote(value, safe=chr(39) + ',()')}" for name, value in params)


def _row_path(entity_set: str, row_key: Key) -> str:
    return f"{entity_set_name(entity_set)}({key(row_key)})"


def _select(select: Sequence[str] | None) -> tuple[tuple[str, str], ...]:
    if not select:
        return ()
    if isinstance(select, str):
        raise TypeError("select takes a list of column names")
    return (("$select", ",".join(column_name(c) for c in select)),)


def create(
    entity_set: str,
    row: Mapping[str, Any],
    *,
    primary_key: str | None = None,
    return_row: bool = False,
    select: Sequence[str] | None = None,
) -> Request:
    """POST a new row. Name ``primary_key`` when ``row`` carries a client-chosen id: the request becomes retryable."""
    prefer = h.prefer(h.RETURN_REPRESENTATION if return_row else "")
    return Request(
        "POST",
        entity_set_name(entity_set),
        params=_select(select) if return_row else (),
        headers={h.CONTENT_TYPE: h.JSON, **prefer},
        json=dict(row),
        idempotent=bool(primary_key and row.get(primary_key)),
    )


def retrieve(
    entity_set: str, row_key: Key, *, select: Sequence[str] | None = None, expand: str | None = None
) -> Request:
    params = _select(select) + ((("$expand", expand),) if expand else ())
    return Request("GET", _row_path(entity_set, row_key), params=params, headers=dict(h.NO_CACHE), idempotent=True)


def update(entity_set: str, row_key: Key, changes: Mapping[str, Any], *, if_match: str = h.ANY_ETAG) -> Request:
    """PATCH an existing row; ``If-Match`` keeps a PATCH from creating a missing row."""
    return Request(
        "PATCH",
        _row_path(entity_set, row_key),
        headers={h.CONTENT_TYPE: h.JSON, h.IF_MATCH: if_match},
        json=dict(changes),
        idempotent=True,
    )


def upsert(
    entity_set: str,
    row_key: Key,
    row: Mapping[str, Any],
    *,
    only: Only = None,
    if_match: str | None = None,
    return_row: bool = False,
) -> Request:
    """PATCH by id or alternate key: creates or updates; ``only`` narrows it to one of the two."""
    if only not in (None, "create", "update"):
        raise ValueError("only must be None, 'create' or 'update'")
    if only and if_match:
        raise ValueError("only and if_match cannot be combined")
    conditions: dict[str, str] = {}
    if only == "create":
        conditions[h.IF_NONE_MATCH] = h.ANY_ETAG
    elif only == "update":
        conditions[h.IF_MATCH] = h.ANY_ETAG
    elif if_match:
        conditions[h.IF_MATCH] = if_match
    prefer = h.prefer(h.RETURN_REPRESENTATION if return_row else "")
    return Request(
        "PATCH",
        _row_path(entity_set, row_key),
        headers={h.CONTENT_TYPE: h.JSON, **conditions, **prefer},
        json=dict(row),
        idempotent=True,
    )


def delete(entity_set: str, row_key: Key, *, if_match: str | None = None) -> Request:
    return Request(
        "DELETE",
        _row_path(entity_set, row_key),
        headers={h.IF_MATCH: if_match} if if_match else {},
        idempotent=True,
        settled_on_retry=frozenset({404}),
    )


def replace_related(
    entity_set: str, row_key: Key, collection: str, items: Sequence[Mapping[str, Any]], *, if_match: str | None = None
) -> Request:
    """PUT a collection-valued navigation property: the related rows become exactly ``items``.

    Used for an activity's parties (``appointment_activity_parties``, docs/dataverse-webapi.md#29-activityparty).
    """
    return Request(
        "PUT",
        f"{_row_path(entity_set, row_key)}/{collection}",
        headers={h.CONTENT_TYPE: h.JSON, **({h.IF_MATCH: if_match} if if_match else {})},
        json={"value": [dict(item) for item in items]},
        idempotent=True,
    )


def set_state(entity_set: str, row_key: Key, *, statecode: int, statuscode: int) -> Request:
    """Change state the Web API way: PATCH ``statecode``/``statuscode`` together."""
    return update(entity_set, row_key, {"statecode": statecode, "statuscode": statuscode})


def query(
    entity_set: str,
    *,
    select: Sequence[str] | None = None,
    filter: str | None = None,
    orderby: str | None = None,
    top: int | None = None,
    expand: str | None = None,
    page_size: int | None = None,
    count: bool = False,
) -> Request:
    """GET a collection. ``filter`` must be built with :func:`dataverse.odata.literal` for every value."""
    params = list(_select(select))
    if filter:
        params.append(("$filter", filter))
    if orderby:
        params.append(("$orderby", orderby))
    if top is not None:
        if top < 1:
            raise ValueError("top must be at least 1")
        params.append(("$top", str(int(top))))
    if expand:
        params.append(("$expand", expand))
    if count:
        params.append(("$count", "true"))
    return Request(
        "GET",
        entity_set_name(entity_set),
        params=tuple(params),
        headers={**h.NO_CACHE, **_page_size(page_size)},
        idempotent=True,
    )


def next_page(next_link: str, *, page_size: int | None = None) -> Request:
    """GET an ``@odata.nextLink`` exactly as the service gave it, with the same page size."""
    return Request("GET", next_link, headers={**h.NO_CACHE, **_page_size(page_size)}, idempotent=True)


def _page_size(page_size: int | None) -> dict[str, str]:
    if page_size is None:
        return {}
    if not 1 <= page_size <= 5000:
        raise ValueError("page_size must be between 1 and 5000")
    return h.prefer(h.max_page_size(page_size))


def _targets(logical_name: str, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    odata_type = f"Microsoft.Dynamics.CRM.{column_name(logical_name)}"
    return [{**row, "@odata.type": odata_type} for row in rows]


def _bulk(entity_set: str, action: str, logical_name: str, rows: Iterable[Mapping[str, Any]], idempotent: bool) -> Request:
    return Request(
        "POST",
        f"{entity_set_name(entity_set)}/Microsoft.Dynamics.CRM.{action}",
        headers={h.CONTENT_TYPE: h.JSON},
        json={"Targets": _targets(logical_name, rows)},
        idempotent=idempotent,
        timeout=BULK_TIMEOUT,
    )


def create_multiple(
    entity_set: str, logical_name: str, rows: Sequence[Mapping[str, Any]], *, primary_key: str | None = None
) -> Request:
    """CreateMultiple; retryable only when every row carries a client-chosen ``primary_key``."""
    idempotent = bool(primary_key) and all(row.get(primary_key) for row in rows)  # type: ignore[arg-type]
    return _bulk(entity_set, "CreateMultiple", logical_name, rows, idempotent)


def update_multiple(entity_set: str, logical_name: str, rows: Sequence[Mapping[str, Any]]) -> Request:
    """UpdateMultiple; every row must carry its primary key (alternate keys are not supported here)."""
    return _bulk(entity_set, "UpdateMultiple", logical_name, rows, True)


def upsert_multiple(entity_set: str, logical_name: str, rows: Sequence[Mapping[str, Any]]) -> Request:
    """UpsertMultiple; rows name themselves by primary key or by ``@odata.id`` with an alternate key."""
    return _bulk(entity_set, "UpsertMultiple", logical_name, rows, True)

"""The Dataverse client: short operations over the request builders and the transport."""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from dataverse import batch as batch_format
from dataverse import headers as h
from dataverse import request_builders
from dataverse.auth import Auth
from dataverse.batch import BatchResult, ChangeSet
from dataverse.errors import DataverseError
from dataverse.request_builders import Key, Only, Request
from dataverse.transport import DEFAULT_RETRY, DEFAULT_TIMEOUT, Transport
from http_retry import RetryPolicy

_ENTITY_ID = re.compile(r"\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)\s*$")
MAX_PAGES = 10_000
"""Guard against a service that keeps returning nextLinks (50 million rows at 5,000 a page)."""
DEFAULT_CHUNK_SIZE = 500


@dataclass(frozen=True)
class UpsertResult:
    created: bool | None
    """True/False when Dataverse said (return_row), None when it answered 204 without telling."""
    row: dict[str, Any] | None


class PagingLoop(DataverseError):
    """The service sent a nextLink already followed, or one pointing outside the environment."""


def entity_id(response: httpx.Response) -> str | None:
    """The GUID at the end of ``OData-EntityId`` (None when the URL names an alternate key)."""
    match = _ENTITY_ID.search(response.headers.get(h.ODATA_ENTITY_ID, ""))
    return match.group(1).lower() if match else None


class DataverseClient:
    """One pooled ``httpx.AsyncClient`` per instance, created on the first request."""

    def __init__(
        self,
        environment_url: str,
        auth: Auth | None = None,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        max_concurrency: int = 52,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        self.environment_url = environment_url.rstrip("/")
        self.chunk_size = chunk_size
        self.transport = Transport(
            self.environment_url, auth=auth, timeout=timeout, retry=retry,
            max_concurrency=max_concurrency, transport=transport,
        )

    def __repr__(self) -> str:
        return f"DataverseClient({self.environment_url!r})"

    @property
    def parallelism(self) -> int:
        """Requests this client lets run at once now: the dop hint, less after a 429, at most the ceiling."""
        return self.transport.limit.limit

    def acting_as(self, auth: Auth) -> DataverseClient:
        """A client of the same environment whose requests carry ``auth``'s tokens (a signed-in user's
        on-behalf-of token, say), sharing this client's connection pool and concurrency limit.
        Closing it closes nothing; close this client."""
        view = copy.copy(self)
        view.transport = self.transport.with_auth(auth)
        return view

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __aenter__(self) -> DataverseClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def send(self, request: Request) -> httpx.Response:
        """Send any built request (the escape hatch for calls without a helper)."""
        return await self.transport.send(request)

    async def create(self, entity_set: str, row: Mapping[str, Any], *, primary_key: str | None = None) -> str:
        """Create a row and return its id (name ``primary_key`` if ``row`` carries its own id: retries become safe)."""
        response = await self.send(request_builders.create(entity_set, row, primary_key=primary_key))
        row_id = entity_id(response)
        if row_id is None:
            if primary_key and row.get(primary_key):
                return str(row[primary_key]).lower()
            raise DataverseError("create answered without an OData-EntityId", status=response.status_code)
        return row_id

    async def retrieve(
        self, entity_set: str, key: Key, *, select: Sequence[str] | None = None, expand: str | None = None
    ) -> dict[str, Any]:
        response = await self.send(request_builders.retrieve(entity_set, key, select=select, expand=expand))
        return _json_object(response)

    async def update(
        self, entity_set: str, key: Key, changes: Mapping[str, Any], *, if_match: str = h.ANY_ETAG
    ) -> None:
        await self.send(request_builders.update(entity_set, key, changes, if_match=if_match))

    async def upsert(
        self,
        entity_set: str,
        key: Key,
        row: Mapping[str, Any],
        *,
        only: Only = None,
        if_match: str | None = None,
        return_row: bool = False,
    ) -> UpsertResult:
        response = await self.send(
            request_builders.upsert(entity_set, key, row, only=only, if_match=if_match, return_row=return_row)
        )
        if response.status_code == 204:
            return UpsertResult(created=None, row=None)
        return UpsertResult(created=response.status_code == 201, row=_json_object(response))

    async def delete(self, entity_set: str, key: Key, *, if_match: str | None = None) -> None:
        await self.send(request_builders.delete(entity_set, key, if_match=if_match))

    async def set_state(self, entity_set: str, key: Key, *, statecode: int, statuscode: int) -> None:
        await self.send(request_builders.set_state(entity_set, key, statecode=statecode, statuscode=statuscode))

    async def query_pages(
        self,
        entity_set: str,
        *,
        select: Sequence[str] | None = None,
        filter: str | None = None,
        orderby: str | None = None,
        top: int | None = None,
        expand: str | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages as the service sends them, following ``@odata.nextLink`` unchanged."""
        request = request_builders.query(
            entity_set, select=select, filter=filter, orderby=orderby, top=top, expand=expand, page_size=page_size
        )
        seen: set[str] = set()
        while True:
            body = _json_object(await self.send(request))
            rows = body.get("value")
            if not isinstance(rows, list):
                raise DataverseError("a collection answer without a value array")
            yield rows
            next_link = body.get("@odata.nextLink")
            if not next_link:
                return
            self._check_next_link(next_link, seen)
            request = request_builders.next_page(next_link, page_size=page_size)

    def _check_next_link(self, next_link: Any, seen: set[str]) -> None:
        if not isinstance(next_link, str):
            raise PagingLoop("nextLink is not a string")
        ours, theirs = urlsplit(self.transport.base_url), urlsplit(next_link)
        if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc) or not theirs.path.startswith(ours.path):
            raise PagingLoop("nextLink points outside the environment; not following it with our token")
        if next_link in seen or len(seen) >= MAX_PAGES:
            raise PagingLoop("nextLink repeats (or too many pages); stopping instead of looping")
        seen.add(next_link)

    async def query(self, entity_set: str, **options: Any) -> AsyncIterator[dict[str, Any]]:
        """Rows one by one, across pages (same options as :meth:`query_pages`)."""
        async for page in self.query_pages(entity_set, **options):
            for row in page:
                yield row

    async def query_all(self, entity_set: str, **options: Any) -> list[dict[str, Any]]:
        return [row async for row in self.query(entity_set, **options)]

    async def batch(
        self, items: Sequence[Request | ChangeSet], *, continue_on_error: bool = False
    ) -> list[BatchResult]:
        """One ``$batch``; a result per operation, in order (changeset operations included)."""
        request, boundary_count = batch_format.build(items, continue_on_error=continue_on_error)
        response = await self.send(request)
        return batch_format.parse(response, boundary_count)

    async def create_multiple(
        self,
        entity_set: str,
        logical_name: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        chunk_size: int | None = None,
        primary_key: str | None = None,
    ) -> list[str]:
        """CreateMultiple in chunks; ids in the order of ``rows``."""
        ids: list[str] = []
        for chunk in self._chunks(rows, chunk_size):
            response = await self.send(request_builders.create_multiple(entity_set, logical_name, chunk, primary_key=primary_key))
            answer = _json_object(response).get("Ids")
            if not isinstance(answer, list) or len(answer) != len(chunk):
                raise DataverseError("CreateMultiple answered without one id per row", status=response.status_code)
            ids.extend(str(i).lower() for i in answer)
        return ids

    async def update_multiple(
        self, entity_set: str, logical_name: str, rows: Sequence[Mapping[str, Any]], *, chunk_size: int | None = None
    ) -> None:
        for chunk in self._chunks(rows, chunk_size):
            await self.send(request_builders.update_multiple(entity_set, logical_name, chunk))

    async def upsert_multiple(
        self, entity_set: str, logical_name: str, rows: Sequence[Mapping[str, Any]], *, chunk_size: int | None = None
    ) -> None:
        for chunk in self._chunks(rows, chunk_size):
            await self.send(request_builders.upsert_multiple(entity_set, logical_name, chunk))

    def _chunks(self, rows: Sequence[Mapping[str, Any]], chunk_size: int | None) -> list[Sequence[Mapping[str, Any]]]:
        size = chunk_size or self.chunk_size
        if size < 1:
            raise ValueError("chunk_size must be at least 1")
        return [rows[i : i + size] for i in range(0, len(rows), size)]


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DataverseError("expected a JSON object from Dataverse", status=response.status_code)
    return body

"""Async wrappers over the Azure Storage SDK's ``.aio`` clients: tables, queues, blobs, leases.

The SDK modules load on first use (not when this module is imported), so an app without
storage never pays for them. Every SDK error becomes one of :mod:`storage_client.errors`.

Bounded waiting: the SDK's own retry policies are replaced by short ones (2 retries, well
under a second apart) and every call has an overall deadline (``timeout``), so with the
account down a request is answered 503 within seconds instead of after the SDK's default
minutes of retries.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from storage_client.connection import StorageConnection
from storage_client.errors import (
    AlreadyExists,
    ChangedSinceRead,
    LeaseLost,
    LeaseTaken,
    StorageError,
    StorageMisconfigured,
    StorageRefused,
    StorageUnavailable,
)

log = logging.getLogger("storage_client")
T = TypeVar("T")

RETRIES = 2
"""Retries after the first try (so 3 tries) of one request inside the SDK."""
CONNECT_TIMEOUT = 3.0
"""Seconds to open a connection: a reachable account connects in milliseconds."""
MIN_LEASE, MAX_LEASE = 15, 60
MAX_QUEUE_DELAY = 3600
"""The longest the app keeps a queue message invisible: 1 hour. Storage refuses a visibility timeout of
7 days or more, or past the message's time-to-live (7 days by default), and no delay the app computes
(a job's back-offs: 60 s at most) or reads from an answer (``Retry-After``) needs longer."""


def queue_delay(seconds: Any) -> int:
    """Whole seconds in ``[0, MAX_QUEUE_DELAY]`` for any requested delay; 0 for NaN or what is not a number."""
    try:
        value = float(seconds)
    except OverflowError:  # an int of hundreds of digits: the longest
        return MAX_QUEUE_DELAY
    except (TypeError, ValueError):
        return 0
    if value != value:  # NaN
        return 0
    return int(min(max(0.0, value), MAX_QUEUE_DELAY))

for _name in ("azure.core.pipeline.policies.http_logging_policy", "azure.storage", "azure.data.tables"):
    logging.getLogger(_name).setLevel(logging.WARNING)  # their INFO lines list every request and header


@functools.cache
def _context_transport_class() -> type:
    """azure-core's aiohttp transport with one SSL context for every request.

    Given a CA bundle path as ``connection_verify``, azure-core builds a new context from the file for
    each request (about 25 ms with a system bundle) and aiohttp, seeing a new context each time, opens a
    new connection for each. Only how the context is chosen changes: the session is still azure-core's
    own (opened lazily, proxy settings from the environment, no cookies, bodies as sent), so are its
    timeouts and closing. ``tests/component/storage/test_storage_client.py`` fails if the hook stops
    being used (connections are counted).
    """
    from azure.core.pipeline.transport import AioHttpTransport

    class ContextTransport(AioHttpTransport):  # type: ignore[misc]
        def __init__(self, context: Any, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._context = context

        def _build_ssl_config(self, cert: Any, verify: Any) -> Any:
            return self._context

    return ContextTransport


class Entity(dict):  # type: ignore[type-arg]
    """A table entity's properties (``PartitionKey`` and ``RowKey`` included) and its ``etag``."""

    etag: str

    def __init__(self, properties: Mapping[str, Any], etag: str) -> None:
        super().__init__(properties)
        self.etag = etag


RESOURCE_GONE = frozenset({"BlobNotFound", "ContainerNotFound", "QueueNotFound", "TableNotFound", "EntityNotFound"})
"""404 codes naming one resource the app creates or reads: it is gone (deleted since ``ensure``), not misconfigured."""
REQUEST_NOT_SERVABLE = frozenset({
    "InvalidUri", "InvalidHeaderValue", "UnsupportedHeader", "MissingRequiredHeader", "InvalidHttpVerb",
    "UnsupportedQueryParameter", "MissingRequiredQueryParameter", "InvalidQueryParameterValue",
})
"""400 codes of Microsoft Learn's "Common REST API error codes" about the request's URL, headers or version
(an unsupported ``x-ms-version`` is ``InvalidHeaderValue``), never about an entity or blob the app sends."""


def _misconfigured(status: int | None, code: str | None, *, account_level: bool) -> bool:
    """Does this answer mean the setting points at the wrong account or endpoint (docs/storage.md#errors)?

    - 404, unless its code names one resource (``TableNotFound``...): ``ResourceNotFound`` from a listing or a
      create, or a 404 without a storage error code (not a storage endpoint at all). Entity and blob reads that
      may find nothing catch their 404s before this mapping.
    - 400 from an account-level call (the probe, creating a table, queue or container: they carry only the
      app's constant names), a 400 with a code of :data:`REQUEST_NOT_SERVABLE`, or a 400 without a code.
    """
    if status == 404:
        return code not in RESOURCE_GONE
    if status == 400:
        return account_level or not code or code in REQUEST_NOT_SERVABLE
    return False


def _storage_error(exc: BaseException, what: str, *, account_level: bool = False) -> StorageError | None:
    """Our error for an SDK or transport exception raised while doing ``what``; ``None`` for anything else (a bug).

    ``account_level``: ``what`` is the probe or creating a table, queue or container (see :func:`_misconfigured`).
    """
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceExistsError,
        ResourceModifiedError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return StorageUnavailable(f"storage did not answer in time ({what})")
    if isinstance(exc, (ServiceRequestError, ServiceResponseError, OSError)):
        return StorageUnavailable(f"storage unreachable ({what}: {type(exc).__name__})")
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        code = _error_code(exc)
        if isinstance(exc, ClientAuthenticationError) or status in (401, 403):
            return StorageRefused(f"storage refused the app's credentials ({what}: {status} {code or ''})".rstrip(),
                                  status=status, code=code)
        if status is None or status >= 500 or status in (408, 429):
            retry_after = _retry_after(exc)
            return StorageUnavailable(f"storage unavailable ({what}: {status} {code or ''})".rstrip(),
                                      status=status, code=code, retry_after=retry_after)
        if _misconfigured(status, code, account_level=account_level):
            return StorageMisconfigured(
                f"storage answered but cannot be used as configured ({what}: {status} {code or ''})".rstrip(),
                status=status, code=code)
        if code == "LeaseAlreadyPresent":
            return LeaseTaken(f"the lease is held by another holder ({what})", status=status, code=code)
        if isinstance(exc, ResourceModifiedError) or status == 412:
            return ChangedSinceRead(f"changed since it was read ({what})", status=status, code=code)
        if isinstance(exc, ResourceExistsError) or status == 409:
            return AlreadyExists(f"already exists ({what}: {code or status})", status=status, code=code)
        return StorageError(f"storage rejected {what}: {status} {code or ''}".rstrip(), status=status, code=code)
    from azure.core.exceptions import AzureError

    if isinstance(exc, AzureError):  # a credential that could not get a token, and the like
        return StorageUnavailable(f"storage not usable ({what}: {type(exc).__name__})", retry_after=30.0)
    if exc.__class__.__module__.startswith("aiohttp"):
        return StorageUnavailable(f"storage unreachable ({what}: {type(exc).__name__})")
    return None


def _error_code(exc: Any) -> str | None:
    """Storage's error code (``TableNotFound``, ``LeaseAlreadyPresent``...): the SDK's attribute, the
    ``x-ms-error-code`` header, or the table service's ``odata.error`` body. The SDKs give some codes as
    enums (``StorageErrorCode``, ``TableErrorCode``): their value is the code storage sent."""
    code = getattr(exc, "error_code", None)
    code = getattr(code, "value", code) or None
    response = getattr(exc, "response", None)
    if code is None and response is not None:
        code = (response.headers or {}).get("x-ms-error-code")
        if code is None:
            try:
                body = response.text()
                code = json.loads(body)["odata.error"]["code"] if len(body) < 65536 else None
            except (ValueError, KeyError, TypeError, AttributeError):
                code = None
    return str(code)[:100] if code else None


def _retry_after(exc: Any) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("Retry-After") if response is not None and response.headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class _Calls:
    """Runs SDK calls with the overall deadline and the error mapping."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    async def run(self, what: str, call: Callable[[], Awaitable[T]], *, account_level: bool = False) -> T:
        try:
            async with asyncio.timeout(self.timeout):
                return await call()
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001 - every SDK/transport failure becomes a typed error
            error = _storage_error(exc, what, account_level=account_level)
            if error is None:
                raise
            raise error from exc


class StorageAccount:
    """The app's storage account: :meth:`table`, :meth:`queue` and :meth:`container` by name.

    ``timeout`` bounds each call (retries included). ``credential`` is an async token
    credential for an identity-based connection (``azure.identity.aio``); ``None`` builds the
    default one (:func:`storage_client.identity.default_credential`). ``client_options`` go to
    the SDK clients' constructors as they are (tests count requests with ``raw_request_hook``);
    their ``connection_verify`` (a CA bundle) also goes to the default credential's pipeline.
    """

    def __init__(
        self, connection: StorageConnection, *, timeout: float = 10.0, credential: Any = None,
        client_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.connection = connection
        self._client_options = dict(client_options or {})
        # A CA bundle given as ``connection_verify`` (a path): azure-core would load the file into a new
        # SSL context for every request (about 25 ms with a system bundle), and aiohttp, seeing a new
        # context each time, would open a new connection for each. One context, one pooled transport
        # per service instead (:meth:`_transport`); the token credential still gets the path.
        verify = self._client_options.get("connection_verify")
        self._ca_bundle: str | None = self._client_options.pop("connection_verify") if isinstance(verify, str) else None
        self._ssl_context: Any = None
        self._calls = _Calls(timeout)
        self._timeout = timeout
        self._credential = credential
        self._owns_credential = credential is None
        self._services: dict[str, Any] = {}
        self._ensured: set[tuple[str, str]] = set()

    def __repr__(self) -> str:
        return f"StorageAccount({self.connection.describe()!r})"

    def _options(self) -> dict[str, Any]:
        return {
            "connection_timeout": min(CONNECT_TIMEOUT, self._timeout),
            "read_timeout": self._timeout,
            **self._client_options,
        }

    def _credential_for_identity(self) -> Any:
        if self._credential is None:
            from storage_client.identity import default_credential

            # The CA bundle the storage clients trust (client_options) is the token endpoint's too.
            transport = {"connection_verify": self._ca_bundle} if self._ca_bundle else {}
            self._credential = default_credential(
                self.connection.managed_identity_client_id, managed_identity_only=self.connection.managed_identity,
                **transport,
            )
        return self._credential

    def _transport(self) -> dict[str, Any]:
        """With a CA bundle, a transport whose every request uses one SSL context trusting it."""
        if self._ca_bundle is None:
            return {}
        import ssl

        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context(cafile=self._ca_bundle)
        timeouts = {k: v for k, v in self._options().items() if k in ("connection_timeout", "read_timeout")}
        return {"transport": _context_transport_class()(self._ssl_context, **timeouts)}

    def _service(self, kind: str) -> Any:
        if kind in self._services:
            return self._services[kind]
        conn = self.connection
        options = self._options() | self._transport()
        if kind == "table":
            from azure.data.tables.aio import TableServiceClient

            options |= {"retry_total": RETRIES, "retry_backoff_factor": 0.2, "retry_backoff_max": 1}
            service = (TableServiceClient.from_connection_string(conn.connection_string, **options)
                       if conn.connection_string else
                       TableServiceClient(conn.table_url, credential=self._credential_for_identity(), **options))
        else:
            # The storage SDKs' ExponentialRetry: waits initial_backoff, then + increment_base**n.
            options |= {"retry_total": RETRIES, "initial_backoff": 0.2, "increment_base": 0.5,
                        "random_jitter_range": 0.1}
            if kind == "queue":
                from azure.storage.queue.aio import QueueServiceClient as Service
                url = conn.queue_url
            else:
                from azure.storage.blob.aio import BlobServiceClient as Service  # type: ignore[assignment]
                url = conn.blob_url
            service = (Service.from_connection_string(conn.connection_string, **options) if conn.connection_string
                       else Service(url, credential=self._credential_for_identity(), **options))
        self._services[kind] = service
        return service

    def table(self, name: str) -> Table:
        return Table(self, name)

    def queue(self, name: str) -> Queue:
        return Queue(self, name)

    def container(self, name: str) -> Container:
        return Container(self, name)

    async def probe(self, *, seconds: float | None = None) -> None:
        """One cheap listing call per service (a first page of one item), all within ``seconds`` (default: the account's timeout).

        Raises :class:`StorageUnavailable` (:class:`StorageRefused` for refused credentials,
        :class:`StorageMisconfigured` when storage answers that the account or endpoint is wrong).
        """

        async def first_items() -> None:
            for pages in (self._service("blob").list_containers(results_per_page=1).by_page(),
                          self._service("queue").list_queues(results_per_page=1).by_page(),
                          self._service("table").list_tables(results_per_page=1).by_page()):
                async for page in pages:
                    async for _ in page:
                        break
                    break

        await _Calls(seconds or self._timeout).run("probe", first_items, account_level=True)

    async def aclose(self) -> None:
        services, self._services = self._services, {}
        for service in services.values():
            try:
                await service.close()
            except Exception:  # noqa: BLE001 - closing must not fail the caller
                log.warning("closing a storage client failed")
        if self._owns_credential and self._credential is not None:
            credential, self._credential = self._credential, None
            await credential.close()


class _Resource:
    """A table, queue or blob container of the account: its calls run with the account's bounds;
    :meth:`ensure` creates it once per account object (idempotent: one that exists is fine)."""

    KIND = ""

    def __init__(self, account: StorageAccount, name: str) -> None:
        self._account = account
        self.name = name

    async def _run(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        return await self._account._calls.run(f"{what} {self.name}", call)

    async def _create(self) -> None:
        raise NotImplementedError

    async def ensure(self) -> None:
        """Create it if missing (once per account object)."""
        key = (self.KIND, self.name)
        if key in self._account._ensured:
            return
        from azure.core.exceptions import ResourceExistsError

        async def create() -> None:
            try:
                await self._create()
            except ResourceExistsError:
                pass

        await self._account._calls.run(f"create {self.KIND} {self.name}", create, account_level=True)
        self._account._ensured.add(key)


class Table(_Resource):
    KIND = "table"

    @property
    def _client(self) -> Any:
        return self._account._service("table").get_table_client(self.name)

    async def _create(self) -> None:
        await self._account._service("table").create_table(self.name)

    async def get(self, partition: str, row: str) -> Entity | None:
        from azure.core.exceptions import ResourceNotFoundError

        async def read() -> Entity | None:
            try:
                found = await self._client.get_entity(partition, row)
            except ResourceNotFoundError:
                return None
            return Entity(found, found.metadata["etag"])

        return await self._run("get entity", read)

    async def _write(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """A write that creates the table again if it was deleted since :meth:`ensure` (once)."""
        try:
            return await self._run(what, call)
        except StorageError as error:
            if error.code != "TableNotFound":
                raise
        self._account._ensured.discard(("table", self.name))
        await self.ensure()
        return await self._run(what, call)

    async def insert(self, entity: Mapping[str, Any]) -> Entity:
        """Insert; :class:`AlreadyExists` when an entity with the same keys exists."""
        written = await self._write("insert entity", lambda: self._client.create_entity(dict(entity)))
        return Entity(entity, written["etag"])

    async def upsert(self, entity: Mapping[str, Any]) -> Entity:
        """Insert or merge into the existing entity, unconditionally."""
        from azure.data.tables import UpdateMode

        written = await self._write("upsert entity", lambda: self._client.upsert_entity(dict(entity), mode=UpdateMode.MERGE))
        return Entity(entity, written["etag"])

    async def update(self, entity: Mapping[str, Any], etag: str) -> Entity:
        """Merge into the entity if it is unchanged since ``etag``; else :class:`ChangedSinceRead`.

        An entity that no longer exists is also "changed since read".
        """
        from azure.core import MatchConditions
        from azure.core.exceptions import ResourceNotFoundError
        from azure.data.tables import UpdateMode

        async def merge() -> Any:
            try:
                return await self._client.update_entity(
                    dict(entity), mode=UpdateMode.MERGE, etag=etag, match_condition=MatchConditions.IfNotModified
                )
            except ResourceNotFoundError:
                raise ChangedSinceRead(f"deleted since it was read (update entity {self.name})", status=404) from None

        written = await self._run("update entity", merge)
        return Entity(entity, written["etag"])

    async def delete(self, partition: str, row: str, *, etag: str | None = None) -> None:
        """Delete the entity; an absent one is no error. With ``etag``, only if the entity is
        unchanged since it was read (``If-Match``); else :class:`ChangedSinceRead`."""
        from azure.core import MatchConditions

        condition = MatchConditions.IfNotModified if etag else MatchConditions.Unconditionally
        await self._run("delete entity",
                        lambda: self._client.delete_entity(partition, row, etag=etag, match_condition=condition))

    async def query(
        self, filter: str, *, select: list[str] | None = None, parameters: dict[str, Any] | None = None
    ) -> AsyncIterator[Entity]:
        """The entities matching an OData ``filter`` (values as ``@name`` with ``parameters``), page by page."""
        what = f"query {self.name}"
        try:
            pages = self._client.query_entities(filter, select=select, parameters=parameters).by_page()
            while True:
                try:
                    async with asyncio.timeout(self._account._calls.timeout):
                        page = await anext(pages)
                        items = [item async for item in page]
                except StopAsyncIteration:
                    return
                for item in items:
                    yield Entity(item, item.metadata["etag"])
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001 - every SDK/transport failure becomes a typed error
            error = _storage_error(exc, what)
            if error is None:
                raise
            raise error from exc


class Queue(_Resource):
    KIND = "queue"

    @property
    def _client(self) -> Any:
        from azure.storage.queue import TextBase64EncodePolicy

        # Base64: the Functions host's default messageEncoding; other bodies go straight to the poison queue.
        return self._account._service("queue").get_queue_client(
            self.name, message_encode_policy=TextBase64EncodePolicy()
        )

    async def _create(self) -> None:
        await self._client.create_queue()

    async def send(self, text: str, *, delay_seconds: float = 0) -> None:
        """Send ``text`` (base64-encoded on the wire), invisible for ``delay_seconds``, bounded by :func:`queue_delay`."""
        delay = queue_delay(delay_seconds)
        await self._run("send to", lambda: self._client.send_message(text, visibility_timeout=delay or None))


class Lease:
    """A held blob lease, valid while storage surely still holds it for us.

    Its expiry is tracked on ``time.monotonic()``: when the last successful acquire or renewal was
    *sent*, plus the lease's ``seconds`` (storage counts from when it got the request, a little later,
    so this errs on the safe side). :meth:`valid` also wants ``margin`` seconds left, time for the
    write the holder is about to start. ``lost`` turns true when storage refused a renewal (another
    holder has it) or renewing failed past the expiry.
    """

    def __init__(self, blob: str, lease_id: str, seconds: int, margin: float, expires_at: float) -> None:
        self.blob = blob
        self.id = lease_id
        self.seconds = seconds
        self.margin = margin
        self.expires_at = expires_at
        self.lost = False
        self.renewals = 0
        self._renewer: asyncio.Task[None] | None = None

    @property
    def remaining(self) -> float:
        """Seconds until the lease surely lapses unless renewed (negative once it may have)."""
        return self.expires_at - time.monotonic()

    @property
    def renewing(self) -> bool:
        """Is the background renewal still running?"""
        return self._renewer is not None and not self._renewer.done()

    def valid(self) -> bool:
        """Not lost, and more than ``margin`` seconds left before it could lapse."""
        return not self.lost and self.remaining > self.margin

    def ensure_valid(self) -> None:
        """Raise :class:`LeaseLost` unless :meth:`valid`: call it before each write the lease protects."""
        if not self.valid():
            raise LeaseLost(f"the lease may have lapsed or been taken ({self.remaining:.1f} s left"
                            f"{', lost' if self.lost else ''})")


class Container(_Resource):
    KIND = "container"

    @property
    def _client(self) -> Any:
        return self._account._service("blob").get_container_client(self.name)

    async def _create(self) -> None:
        await self._client.create_container()

    async def put(self, name: str, data: bytes, *, overwrite: bool = True) -> None:
        """Write the blob; :class:`AlreadyExists` when it exists and ``overwrite`` is false."""
        await self._run("put blob", lambda: self._client.upload_blob(name, data, overwrite=overwrite))

    async def get(self, name: str) -> bytes | None:
        from azure.core.exceptions import ResourceNotFoundError

        async def read() -> bytes | None:
            try:
                downloader = await self._client.download_blob(name)
            except ResourceNotFoundError:
                return None
            return await downloader.readall()

        return await self._run("get blob", read)

    async def delete(self, name: str) -> None:
        """Delete the blob; an absent one is no error."""
        from azure.core.exceptions import ResourceNotFoundError

        async def remove() -> None:
            try:
                await self._client.delete_blob(name)
            except ResourceNotFoundError:
                pass

        await self._run("delete blob", remove)

    @asynccontextmanager
    async def lease(
        self, name: str, *, seconds: int = 60, renew_every: float | None = None, margin: float | None = None,
    ) -> AsyncIterator[Lease]:
        """Hold the lease of blob ``name`` (created empty if missing) for the ``async with`` block.

        :class:`LeaseTaken` when another holder has it. Renewed every ``seconds / 3`` (or
        ``renew_every``) in the background; released on exit. ``seconds`` is 15-60 (storage's range).
        ``margin`` (default ``seconds / 3``): how many seconds must be left for :meth:`Lease.valid`, so
        one late or failed renewal is tolerated and a second one is not.

        On exit the renewal is stopped and awaited, then the lease released; neither hides the other's
        error nor the block's: a renewal that failed unexpectedly is raised after the release (unless
        the block raised, which then goes on, the renewal's error logged).
        """
        if not MIN_LEASE <= seconds <= MAX_LEASE:
            raise ValueError(f"a lease lasts {MIN_LEASE}-{MAX_LEASE} seconds")
        margin = seconds / 3 if margin is None else min(max(0.0, margin), seconds - 0.05)
        interval = renew_every if renew_every is not None else seconds / 3
        interval = min(max(0.05, interval), seconds / 2)
        from azure.core.exceptions import ResourceExistsError
        from azure.storage.blob.aio import BlobLeaseClient

        blob = self._client.get_blob_client(name)

        async def create_if_missing() -> None:
            try:
                await blob.upload_blob(b"", overwrite=False)
            except ResourceExistsError:
                pass  # exists (possibly leased: the acquire below says so)

        await self._run("create lease blob", create_if_missing)
        lease_client = BlobLeaseClient(blob)
        sent = time.monotonic()
        await self._run("acquire lease", lambda: lease_client.acquire(lease_duration=seconds))
        lease = Lease(name, lease_client.id, seconds, margin, sent + seconds)
        lease._renewer = asyncio.create_task(self._keep_renewed(lease_client, lease, interval), name=f"lease {name}")
        block_failed = False
        try:
            yield lease
        except BaseException:
            block_failed = True
            raise
        finally:
            renewal_error = await self._end_lease(lease_client, lease)
            if renewal_error is not None and not block_failed:
                raise renewal_error

    async def _end_lease(self, lease_client: Any, lease: Lease) -> BaseException | None:
        """Stop the renewal (awaited: it never outlives the block), then release; the renewal's own error, if any.

        ``gather`` collects the renewal's outcome without raising it here; a cancellation of the caller
        while it waits still reaches the caller (it is not the renewal's ``CancelledError``).
        """
        renewer = lease._renewer
        outcome: BaseException | None = None
        if renewer is not None:
            renewer.cancel()
            (result,) = await asyncio.gather(renewer, return_exceptions=True)
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                outcome = result
                log.error("renewing a lease failed unexpectedly (%s)", type(result).__name__)
        if not lease.lost:
            try:
                await self._run("release lease", lambda: lease_client.release())
            except Exception as error:  # noqa: BLE001 - it expires by itself within `seconds`; never hide the rest
                log.warning("releasing a lease failed (%s); it expires by itself", type(error).__name__)
        return outcome

    async def _keep_renewed(self, lease_client: Any, lease: Lease, interval: float) -> None:
        while not lease.lost:
            await asyncio.sleep(interval)
            sent = time.monotonic()
            try:
                await self._run("renew lease", lambda: lease_client.renew())
            except StorageUnavailable:
                if time.monotonic() >= lease.expires_at:
                    lease.lost = True
                    log.warning("a lease expired: renewing it failed until it lapsed")
            except StorageError:  # 409/412: someone else has it now
                lease.lost = True
                log.warning("a lease was lost: storage refused its renewal")
            else:
                lease.expires_at = sent + lease.seconds
                lease.renewals += 1

"""Routes a Web API request to the operation it names (docs/dataverse-webapi.md#121-routing) and builds the reply."""

from __future__ import annotations

import logging

from emulators.dataverse.model.catalog import Catalog
from emulators.dataverse.model.schema import Table
from emulators.dataverse.model.seed import CALLER_USER_ID
from emulators.dataverse.model.service_errors import (
    ServiceError,
    bad_payload,
    bad_query,
    duplicate,
    key_missing,
    no_route,
    record_missing,
    segment_not_found,
    version_mismatch,
)
from emulators.dataverse.model.store import Record, Store
from emulators.dataverse.webapi.batch import run_batch
from emulators.dataverse.webapi.bulk import run_bulk
from emulators.dataverse.webapi.definitions import Definitions
from emulators.dataverse.webapi.entity_definitions import entity_definitions
from emulators.dataverse.webapi.fetchxml import (
    MORE_RECORDS,
    PAGING_COOKIE,
    all_links,
    linked_values,
    paging_cookie,
    parse_fetch,
    run_fetch,
)
from emulators.dataverse.webapi.functions import call_function, is_function
from emulators.dataverse.webapi.messages import ApiRequest, Reply
from emulators.dataverse.webapi.metadata import csdl
from emulators.dataverse.webapi.odata_filter import index_key
from emulators.dataverse.webapi.paths import KeyRef, Segment, parse_key, split_segments
from emulators.dataverse.webapi.query import (
    FETCH_XML,
    next_link,
    page_size,
    parse_options,
    run_query,
    select_context,
)
from emulators.dataverse.webapi.security import Access, Principals
from emulators.dataverse.webapi.shaping import Annotations, Shaper, Views, etag, related_rows
from emulators.dataverse.webapi.writes import Writer

BULK_PREFIX = "Microsoft.Dynamics.CRM."
logger = logging.getLogger(__name__)


class WebApi:
    """The Dataverse Web API over the emulator's store; `handle` never raises."""

    def __init__(self, catalog: Catalog, store: Store) -> None:
        self.catalog = catalog
        self.store = store
        self.writer = Writer(catalog, store)
        self.shaper = Shaper(catalog, store)
        self.views = Views()
        self.principals = Principals(catalog, store)
        self._definitions: Definitions | None = None

    def access(self, request: ApiRequest) -> Access:
        """What the request's caller may reach (everything under --auth none)."""
        return Access(self.catalog, self.store, request.caller)

    @property
    def definitions(self) -> Definitions:
        """Table definitions, generated from the catalogue on first use."""
        if self._definitions is None:
            self._definitions = Definitions(self.catalog)
        return self._definitions

    def handle(self, request: ApiRequest) -> Reply:
        try:
            with self.store.lock:
                if request.claims is not None and request.caller is None:
                    request.caller = self.principals.caller(request.claims)
                access = self.access(request)
                saved = (self.writer.acting_user, self.writer.append_to)
                self.writer.acting_user = request.caller.user_id if request.caller else CALLER_USER_ID
                self.writer.append_to = None if access.unrestricted else access.require_append_to
                try:
                    return self.dispatch(request)
                finally:
                    self.writer.acting_user, self.writer.append_to = saved
        except ServiceError as error:
            return Reply.error(error)
        except Exception as error:  # an emulator bug must still answer like the service, not drop the socket
            # The entity set only: key URLs can carry e-mail addresses.
            logger.exception("emulator failure on %s %s", request.method, request.path.split("(")[0].split("/")[0])
            return Reply.error(ServiceError(500, "0x80040216", f"Unexpected emulator error: {type(error).__name__}"))

    def dispatch(self, request: ApiRequest) -> Reply:
        path = request.path
        if request.method != "GET":
            _refuse_write_options(request)
        if path in ("", "/"):
            return self._service_document(request)
        if path == "$batch":
            return run_batch(self, request)
        if path == "$metadata":
            return Reply(200, {"Content-Type": "application/xml"}, csdl(self.catalog).encode())
        segments = split_segments(path)
        first = segments[0]
        if is_function(segments):
            return call_function(request, segments)
        if first.name == "EntityDefinitions":
            return entity_definitions(self.definitions, request, segments)
        table = self.catalog.by_set.get(first.name)
        if table is None:
            raise segment_not_found(first.name)
        if first.key is None:
            return self._collection(request, table, segments[1:])
        key = parse_key(table, first.key)
        rest = segments[1:]
        if not rest:
            return self._entity(request, table, key, first)
        return self._related(request, table, key, rest)

    # -- /set
    def _collection(self, request: ApiRequest, table: Table, rest: list[Segment]) -> Reply:
        method = request.method
        if not rest:
            if method == "GET":
                return self._query(request, table)
            if method == "POST":
                return self._create(request, table)
            raise ServiceError(405, "0x80060888", f"The requested resource does not support http method '{method}'.")
        if len(rest) == 1 and rest[0].key is None:
            name = rest[0].name
            if name == "$count" and method == "GET":
                options = parse_options(self.catalog, table, request.query)
                if any(k != "$filter" for k, _ in request.query):
                    raise bad_query("Only $filter is supported on /$count by the emulator.")
                access = self.access(request)
                access.require_table(table)
                records = access.visible(table, self.store.all(table))
                if options.filter is not None:
                    records = [r for r in records if options.filter(self.views.of(table, r))]
                total = len(records)
                return Reply(200, {"Content-Type": "text/plain"}, str(min(total, 5000)).encode())
            if name.startswith(BULK_PREFIX) and method == "POST":
                return run_bulk(self, request, table, name[len(BULK_PREFIX) :])
        known = rest[0].name == "$count" or rest[0].name.startswith(BULK_PREFIX)
        if not known:
            raise segment_not_found(rest[0].name)
        raise no_route(method, request.path)

    def _query(self, request: ApiRequest, table: Table) -> Reply:
        if any(name == FETCH_XML for name, _ in request.query):
            return self._fetch(request, table)
        return self._listing(request, table, None)

    def _fetch(self, request: ApiRequest, table: Table) -> Reply:
        """`?fetchXml=`: the documented subset of fetchxml.py, alone (other options are 400)."""
        others = [name for name, _ in request.query if name != FETCH_XML]
        if others:
            raise bad_query(f"The query parameter '{others[0]}' cannot be combined with fetchXml.")
        fetch = parse_fetch(self.catalog, table, dict(request.query)[FETCH_XML])
        prefer = request.prefer()
        if "odata.maxpagesize" in prefer:
            raise bad_query("Prefer: odata.maxpagesize cannot be used with fetchXml; use the count and page attributes.")
        annotations = Annotations.from_prefer(prefer.get("odata.include-annotations"))
        access = self.access(request)
        access.require_table(table)
        result = run_fetch(fetch, self.store, self.views.of, access.row_filter)
        if result.aggregate is not None:
            context = f"{request.base_url}$metadata#{table.entity_set}"
            return Reply.json(200, {"@odata.context": context, "value": [result.aggregate]})
        select = None
        if fetch.columns is not None:
            select = [table.lookups[c].value_property if c in table.lookups else c for c in fetch.columns]
        links = all_links(fetch.links)
        value = []
        for record, _, linked in result.rows:
            # all-attributes: every column; no attribute element: the primary key alone.
            row = self.shaper.row(table, record, None if select is None else select or [table.primary_key], annotations)
            row.update(linked_values(links, linked))
            value.append(row)
        body: dict[str, object] = {"@odata.context": select_context(request.base_url, table, select or None), "value": value}
        if fetch.top is None:
            body[MORE_RECORDS] = result.more
            if result.more:
                body[PAGING_COOKIE] = paging_cookie(fetch, result.rows)
        return Reply.json(200, body, _applied(prefer, annotations, None))

    def _listing(self, request: ApiRequest, table: Table, records: list[Record] | None) -> Reply:
        """A collection answer over `records` (None: the whole table): query options, paging, annotations."""
        options = parse_options(self.catalog, table, request.query)
        prefer = request.prefer()
        annotations = Annotations.from_prefer(prefer.get("odata.include-annotations"))
        size = page_size(prefer)
        access = self.access(request)
        access.require_table(table)
        if records is None:
            hint = index_key(options.filter) if options.filter is not None else None
            if hint is not None:
                records = self.views.matching(self.store, table, *hint)
            else:
                records = self.store.all(table)
        records = access.visible(table, records)
        readable = access.row_filter
        views = self.views
        page, total, more = run_query(records, lambda record: views.of(table, record), options, size)
        body: dict[str, object] = {"@odata.context": select_context(request.base_url, table, options.select)}
        if options.count:
            body["@odata.count"] = min(total, 5000)
        body["value"] = [self.shaper.row(table, r, options.select, annotations, options.expand, readable) for r, _ in page]
        if more is not None:
            body["@odata.nextLink"] = next_link(request.base_url, request.path, request.query, more)
        return Reply.json(200, body, _applied(prefer, annotations, size))

    def _create(self, request: ApiRequest, table: Table) -> Reply:
        body = request.json_body(table.entity_set)
        self.access(request).require_create(table)
        record = self.writer.create(table, body, content_ids=request.content_ids)
        return self._written(request, table, record, 204, f"{table.entity_set}({record.id})")

    def _written(self, request: ApiRequest, table: Table, record: Record, created_status: int, url: str) -> Reply:
        """204 + OData-EntityId, or the row with return=representation (docs/dataverse-webapi.md#31-create, #35-upsert-by-key)."""
        prefer = request.prefer()
        if prefer.get("return") == "representation":
            options = parse_options(self.catalog, table, request.query, single=True)
            annotations = Annotations.from_prefer(prefer.get("odata.include-annotations"))
            access = self.access(request)
            readable = access.row_filter
            row = self.shaper.row(table, record, options.select, annotations, options.expand, readable)
            body = {"@odata.context": select_context(request.base_url, table, options.select) + "/$entity", **row}
            status = 201 if created_status in (201, 204) else 200
            headers = {"Preference-Applied": "return=representation", "ETag": etag(record)}
            reply = Reply.json(status, body, headers)
        else:
            reply = Reply.empty(204, {"OData-EntityId": request.base_url + url, "ETag": etag(record)})
        reply.entity = url
        return reply

    # -- /set(key)
    def _entity(self, request: ApiRequest, table: Table, key: KeyRef, segment: Segment) -> Reply:
        method = request.method
        if method == "GET":
            return self._retrieve(request, table, key)
        if method == "PATCH":
            return self._upsert(request, table, key, segment)
        if method == "DELETE":
            record = self.writer.require(table, key)
            self.access(request).require_write(table, record, "delete")
            _check_if_match(request, record)
            self.writer.delete(table, record)
            return Reply.empty(204)
        raise ServiceError(405, "0x80060888", f"The requested resource does not support http method '{method}'.")

    def _retrieve(self, request: ApiRequest, table: Table, key: KeyRef) -> Reply:
        options = parse_options(self.catalog, table, request.query, single=True)
        access = self.access(request)
        access.require_table(table)
        record = self.writer.require(table, key)
        access.require_read(table, record)
        prefer = request.prefer()
        annotations = Annotations.from_prefer(prefer.get("odata.include-annotations"))
        if request.header("if-none-match") == etag(record) and not options.expand and not annotations:
            return Reply.empty(304, {"ETag": etag(record)})
        readable = access.row_filter
        row = self.shaper.row(table, record, options.select, annotations, options.expand, readable)
        body = {"@odata.context": select_context(request.base_url, table, options.select) + "/$entity", **row}
        return Reply.json(200, body, {"ETag": etag(record), **_applied(prefer, annotations, None)})

    def _upsert(self, request: ApiRequest, table: Table, key: KeyRef, segment: Segment) -> Reply:
        body = request.json_body(table.entity_set)
        access = self.access(request)
        with self.store.atomic():
            existing = self.writer.find(table, key)
            if_match = request.header("if-match")
            if_none_match = request.header("if-none-match")
            if existing is None:
                if if_match is not None:
                    raise self._missing(table, key)
                access.require_create(table)
                key_values = dict(key.values) if key.id is None else None
                record = self.writer.create(
                    table, body, record_id=key.id, key_values=key_values, content_ids=request.content_ids
                )
                status = 201
            else:
                access.require_write(table, existing)
                if if_none_match == "*":
                    raise duplicate()
                _check_if_match(request, existing)
                record = self.writer.update(
                    table, existing, body, content_ids=request.content_ids, drop_keys=key.id is None
                )
                status = 200
        return self._written(request, table, record, status, f"{table.entity_set}({key.url_text()})")

    def _missing(self, table: Table, key: KeyRef) -> ServiceError:
        return record_missing(table.logical_name, key.id) if key.id else key_missing(table.logical_name)

    # -- /set(key)/property, /nav, /collection, /nav/$ref
    def _related(self, request: ApiRequest, table: Table, key: KeyRef, rest: list[Segment]) -> Reply:
        name = rest[0].name
        if rest[0].key is not None:
            raise no_route(request.method, request.path)
        is_ref = len(rest) == 2 and rest[1].name == "$ref" and rest[1].key is None
        if len(rest) > 1 and not is_ref:
            raise no_route(request.method, request.path)
        record = self.writer.require(table, key)
        access = self.access(request)
        if request.method == "GET":
            access.require_read(table, record)
        else:
            access.require_write(table, record)
        lookup = table.navigation(name)
        if lookup is not None:
            return self._single_navigation(request, table, record, name, is_ref)
        collection = table.collections.get(name)
        if collection is not None and not is_ref:
            return self._collection_navigation(request, table, record, name)
        if name in table.columns and not is_ref:
            return self._property(request, table, record, name)
        raise segment_not_found(name)

    def _single_navigation(self, request: ApiRequest, table: Table, record: Record, name: str, is_ref: bool) -> Reply:
        lookup = table.navigation(name)
        assert lookup is not None
        target = record.lookups.get(lookup.attribute)
        if target is not None and target[0] != lookup.navigations[name]:
            target = None
        method = request.method
        if method == "GET":
            if target is None:
                return Reply.empty(204)
            target_table = self.catalog.table(target[0])
            if is_ref:
                return Reply.json(200, {"@odata.id": f"{request.base_url}{target_table.entity_set}({target[1]})"})
            target_record = self.store.get(target_table, target[1])
            assert target_record is not None
            self.access(request).require_read(target_table, target_record)
            options = parse_options(self.catalog, target_table, request.query, single=True)
            row = self.shaper.row(target_table, target_record, options.select)
            return Reply.json(200, {"@odata.context": select_context(request.base_url, target_table, options.select) + "/$entity", **row})
        if is_ref and method == "DELETE":
            with self.store.atomic():
                self.writer.set_lookup(table, record, lookup, None)
            return Reply.empty(204)
        if is_ref and method == "PUT":
            body = request.json_body(table.entity_set)
            target_table, target_record = self.writer.resolve_reference(
                body.get("@odata.id"), request.content_ids, table.entity_set
            )
            if target_table.logical_name != lookup.navigations[name]:
                raise bad_payload(table.entity_set, f"'{name}' cannot refer to a '{target_table.logical_name}'.")
            self.access(request).require_append_to(target_table, target_record)
            with self.store.atomic():
                self.writer.set_lookup(table, record, lookup, (target_table.logical_name, target_record.id))
            return Reply.empty(204)
        raise no_route(method, request.path)

    def _collection_navigation(self, request: ApiRequest, table: Table, record: Record, name: str) -> Reply:
        collection = table.collections[name]
        child = self.catalog.table(collection.child)
        if request.method == "GET":
            return self._listing(request, child, related_rows(self.store, table, record.id, child, collection.lookup))
        if request.method == "PUT" and collection.deep_insert:
            payload = request.json_body(table.entity_set)
            items = payload.get("value")
            if not isinstance(items, list):
                raise bad_payload(table.entity_set, f"PUT {name} needs a body {{\"value\": [...]}}.")
            self.writer.replace_collection(table, record, collection, items, request.content_ids)
            return Reply.empty(204)
        raise no_route(request.method, request.path)

    def _property(self, request: ApiRequest, table: Table, record: Record, name: str) -> Reply:
        method = request.method
        if method == "GET":
            context = f"{request.base_url}$metadata#{table.entity_set}({record.id})/{name}"
            return Reply.json(200, {"@odata.context": context, "value": record.values.get(name)})
        if method == "PUT":
            body = request.json_body(table.entity_set)
            if "value" not in body:
                raise bad_payload(table.entity_set, "PUT of a single property needs a body {\"value\": ...}.")
            with self.store.atomic():
                self.writer.update(table, record, {name: body["value"]})
            return Reply.empty(204)
        if method == "DELETE":
            with self.store.atomic():
                self.writer.update(table, record, {name: None})
            return Reply.empty(204)
        raise no_route(method, request.path)

    def _service_document(self, request: ApiRequest) -> Reply:
        if request.method != "GET":
            raise no_route(request.method, request.path)
        value = [{"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set} for t in self.catalog.by_set.values()]
        return Reply.json(200, {"@odata.context": request.base_url + "$metadata", "value": value})


WRITE_OPTIONS = {"$select", "$expand"}  # shape the row answered with Prefer: return=representation


def _refuse_write_options(request: ApiRequest) -> None:
    """A write never ignores a query option: only the two that shape a returned row are allowed."""
    for name, _ in request.query:
        if name not in WRITE_OPTIONS:
            raise bad_query(f"The query parameter '{name}' is not supported on a {request.method} request.")


def _check_if_match(request: ApiRequest, record: Record) -> None:
    if_match = request.header("if-match")
    if if_match is not None and if_match != "*" and if_match != etag(record):
        raise version_mismatch()


def _applied(prefer: dict[str, str], annotations: Annotations, size: int | None) -> dict[str, str]:
    applied = []
    if annotations:
        applied.append(f'odata.include-annotations="{prefer["odata.include-annotations"]}"')
    if size is not None:
        applied.append(f"odata.maxpagesize={size}")
    return {"Preference-Applied": ",".join(applied)} if applied else {}


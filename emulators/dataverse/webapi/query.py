"""Collection reads: $select, $filter, $orderby, $top, $count, $expand and paging (docs/dataverse-webapi.md#4-queries)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from emulators.dataverse.model.catalog import Catalog
from emulators.dataverse.model.schema import Table
from emulators.dataverse.model.service_errors import ServiceError, bad_query, unknown_property
from emulators.dataverse.model.store import Record
from emulators.dataverse.webapi.odata_filter import Predicate, compile_filter
from emulators.dataverse.webapi.ordering import order_rows
from emulators.dataverse.webapi.shaping import Expansion

MAX_PAGE_SIZE = 5000
MAX_EXPANDS = 15
UNSUPPORTED = {"$skip", "$search", "$levels", "$format", "$compute", "$index", "$schemaversion"}
SUPPORTED = {"$select", "$filter", "$orderby", "$top", "$count", "$expand", "$skiptoken", "$apply"}
# Query options without a `$` that Dataverse honours: never silently ignored.
STORED_QUERIES = {"savedQuery", "userQuery"}
FETCH_XML = "fetchXml"
SQL = "sql"
# `tag` only reaches plug-ins (a shared variable); the emulator runs none, so it changes nothing.
HARMLESS = {"tag"}


@dataclass(frozen=True)
class QueryOptions:
    select: tuple[str, ...] | None = None
    filter: Predicate | None = None
    orderby: tuple[tuple[str, bool], ...] = ()  # (property, descending)
    top: int | None = None
    count: bool = False
    expand: tuple[Expansion, ...] = ()
    skiptoken: str | None = None


def split_top_level(text: str, separator: str) -> list[str]:
    """Split on `separator` outside parentheses and quotes."""
    parts, current, depth, quoted = [], [], 0, False
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        if char == separator and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_options(
    catalog: Catalog,
    table: Table,
    params: Sequence[tuple[str, str]],
    *,
    single: bool = False,
) -> QueryOptions:
    options = dict(params)
    aliases = {k: v for k, v in params if k.startswith("@")}
    if len(options) != len(params):
        repeated = next(k for i, (k, _) in enumerate(params) if k in {n for n, _ in params[:i]})
        raise bad_query(f"Query option '{repeated}' was specified more than once, but it must be specified at most once.")
    for name in options:
        if name in STORED_QUERIES:
            raise bad_query(f"The query parameter '{name}' (saved or user views) is not supported by the emulator.")
        if name == FETCH_XML:
            raise bad_query("The query parameter 'fetchXml' is only valid alone on a GET of an entity set.")
        if name == SQL:
            raise bad_query("The query parameter 'sql' (Dataverse SQL queries) is not supported by the emulator.")
        if not name.startswith(("$", "@")) and name not in HARMLESS:
            raise bad_query(f"The query parameter '{name}' is not supported by the emulator.")
        if name in UNSUPPORTED:
            raise bad_query(f"The query parameter '{name}' is not supported.")
        if name.startswith("$") and name not in SUPPORTED:
            raise bad_query(f"The query parameter '{name}' is not supported.")
    if "$apply" in options:
        raise bad_query("The query parameter '$apply' is not supported by the emulator.")
    if single and any(k in options for k in ("$filter", "$orderby", "$top", "$count", "$skiptoken")):
        raise bad_query("Query options $filter, $orderby, $top and $count are not allowed on a single record.")
    return _options(catalog, table, options, aliases)


def _options(catalog: Catalog, table: Table, options: Mapping[str, str], aliases: Mapping[str, str]) -> QueryOptions:
    select = parse_select(table, options["$select"]) if "$select" in options else None
    predicate = compile_filter(table, options["$filter"], aliases) if "$filter" in options else None
    orderby = parse_orderby(table, options["$orderby"]) if "$orderby" in options else ()
    top = None
    if "$top" in options:
        raw = options["$top"]
        if not raw.isdigit():
            raise bad_query(f"Invalid value '{raw}' for $top query option found. The $top query option requires a non-negative integer value.")
        top = int(raw)
    count = False
    if "$count" in options:
        if options["$count"] not in ("true", "false"):
            raise bad_query(f"'{options['$count']}' is not a valid count option.")
        count = options["$count"] == "true"
    expand = parse_expand(catalog, table, options["$expand"], aliases) if "$expand" in options else ()
    return QueryOptions(select, predicate, orderby, top, count, expand, options.get("$skiptoken"))


def parse_select(table: Table, text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    for name in names:
        if not table.readable(name):
            raise unknown_property(table.type_name, name)
    return names


def parse_orderby(table: Table, text: str) -> tuple[tuple[str, bool], ...]:
    result = []
    for item in text.split(","):
        words = item.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise bad_query(f"Syntax error in $orderby='{text}'.")
        if not table.readable(words[0]):
            raise unknown_property(table.type_name, words[0])
        result.append((words[0], len(words) == 2 and words[1] == "desc"))
    return tuple(result)


def split_expand_item(item: str, text: str) -> tuple[str, dict[str, str]]:
    """`Name($select=a;$filter=b)` -> ("Name", {"$select": "a", "$filter": "b"}); 400 on bad syntax."""
    name, _, rest = item.partition("(")
    inner: dict[str, str] = {}
    if rest:
        if not rest.endswith(")"):
            raise bad_query(f"Syntax error in $expand='{text}'.")
        for option in split_top_level(rest[:-1], ";"):
            key, sep, value = option.partition("=")
            if not sep:
                raise bad_query(f"Syntax error in $expand='{text}'.")
            inner[key.strip()] = value
    return name.strip(), inner


def parse_expand(
    catalog: Catalog, table: Table, text: str, aliases: Mapping[str, str]
) -> tuple[Expansion, ...]:
    items = split_top_level(text, ",")
    if len(items) > MAX_EXPANDS:
        raise bad_query(f"The $expand query option allows at most {MAX_EXPANDS} navigation properties.")
    expansions = []
    for item in items:
        name, inner = split_expand_item(item, text)
        lookup = table.navigation(name)
        if lookup is not None:
            target = catalog.table(lookup.navigations[name])
            if set(inner) - {"$select", "$expand"}:
                raise bad_query(f"Only $select and $expand are allowed when expanding '{name}'.")
            expansions.append(
                Expansion(
                    name,
                    parse_select(target, inner["$select"]) if "$select" in inner else None,
                    nested=parse_expand(catalog, target, inner["$expand"], aliases) if "$expand" in inner else (),
                )
            )
            continue
        collection = table.collections.get(name)
        if collection is None:
            raise bad_query(f"Could not find a property named '{name}' on type '{table.type_name}'.")
        child = catalog.table(collection.child)
        if "$count" in inner or "$expand" in inner:
            raise bad_query("$count and nested $expand are not supported inside a collection $expand.")
        options = _options(catalog, child, inner, aliases)
        expansions.append(
            Expansion(name, options.select, True, options.filter, options.orderby, options.top)
        )
    return tuple(expansions)


def encode_skiptoken(offset: int) -> str:
    cookie = json.dumps({"pagenumber": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(cookie).decode().rstrip("=")


def decode_skiptoken(token: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = int(data["pagenumber"])
    except (ValueError, KeyError, TypeError):
        raise bad_query("The $skiptoken is not valid; send @odata.nextLink unchanged.") from None
    if offset < 0:
        raise bad_query("The $skiptoken is not valid; send @odata.nextLink unchanged.")
    return offset


def page_size(prefer: Mapping[str, str]) -> int | None:
    raw = prefer.get("odata.maxpagesize")
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) == 0:
        raise ServiceError(400, "0x80060888", f"The odata.maxpagesize preference '{raw}' must be a positive integer.")
    return min(int(raw), MAX_PAGE_SIZE)


def next_link(base: str, path: str, params: Sequence[tuple[str, str]], offset: int) -> str:
    kept = [(k, v) for k, v in params if k != "$skiptoken"] + [("$skiptoken", encode_skiptoken(offset))]
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in kept)
    return f"{base}{path}?{query}"


def select_context(base: str, table: Table, select: Sequence[str] | None) -> str:
    columns = f"({','.join(select)})" if select else ""
    return f"{base}$metadata#{table.entity_set}{columns}"


def run_query(
    records: list[Record],
    view_of: Callable[[Record], dict[str, object]],
    options: QueryOptions,
    size: int | None,
) -> tuple[list[tuple[Record, dict[str, object]]], int, int | None]:
    """Filtered, ordered page of rows; the total; the next page's offset (None when done)."""
    predicate = options.filter
    matched = []
    for record in records:
        view = view_of(record)
        if predicate is None or predicate(view):
            matched.append((record, view))
    matched = order_rows(matched, options.orderby)
    total = len(matched)
    if options.top is not None:
        return matched[: options.top], total, None
    offset = decode_skiptoken(options.skiptoken) if options.skiptoken else 0
    limit = size or MAX_PAGE_SIZE
    page = matched[offset : offset + limit]
    more = offset + limit < total
    return page, total, (offset + limit) if more else None

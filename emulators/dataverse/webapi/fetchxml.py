"""`GET <set>?fetchXml=...`: a documented subset of FetchXML; anything else is a 400 naming it.

Supported (docs/emulator.md#fetchxml): `attribute`, `all-attributes`, nested `filter` (and/or)
with eq ne gt ge lt le like not-like in not-in null not-null on-or-after on-or-before, `order`,
`link-entity` inner/outer joining a lookup to a primary key (either direction, with `alias`),
`top`, `count` + `page` (+ `paging-cookie`), and `aggregate` with count / countcolumn.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from operator import eq, ge, gt, le, lt, ne
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

from emulators.dataverse.model.catalog import Catalog
from emulators.dataverse.model.schema import Kind, Table
from emulators.dataverse.model.service_errors import ServiceError
from emulators.dataverse.model.store import Record, Store
from emulators.dataverse.model.values import parse_guid, to_utc_text
from emulators.dataverse.webapi.ordering import sort_key

MAX_LENGTH = 32_768
MAX_DEPTH = 32  # nested filters and link-entities: deeper is a 400, never a RecursionError
MAX_PAGE = 5000
FETCH_ERROR = "0x80041103"  # QueryBuilderNoAttribute and friends share the 0x8004110x range (UNCONFIRMED)
FETCH_ATTRIBUTES = {"version", "mapping", "top", "count", "page", "paging-cookie", "aggregate", "no-lock", "distinct",
                    "output-format", "returntotalrecordcount"}
CONDITION_OPERATORS = {"eq", "ne", "gt", "ge", "lt", "le", "like", "not-like", "in", "not-in", "null", "not-null",
                       "on-or-after", "on-or-before"}
NO_VALUE = {"null", "not-null"}
MANY_VALUES = {"in", "not-in"}
DATE_OPERATORS = {"on-or-after", "on-or-before"}
PAGING_COOKIE = "@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"
MORE_RECORDS = "@Microsoft.Dynamics.CRM.morerecords"

View = dict[str, object]
Predicate = Callable[[View], bool]


def fetch_error(message: str) -> ServiceError:
    return ServiceError(400, FETCH_ERROR, message)


@dataclass
class Link:
    table: Table
    alias: str
    from_attribute: str
    to_attribute: str
    outer: bool
    columns: list[str] | None  # None: every column (all-attributes)
    predicate: Predicate | None
    links: list[Link] = field(default_factory=list)


@dataclass
class Fetch:
    table: Table
    columns: list[str] | None  # logical names; None: all-attributes
    predicate: Predicate | None
    orders: list[tuple[str, bool]]
    links: list[Link]
    top: int | None
    count: int | None
    page: int
    aggregates: list[tuple[str, str, str]]  # (function, attribute, alias)


# -- parsing


def parse_fetch(catalog: Catalog, table: Table, text: str) -> Fetch:
    if len(text) > MAX_LENGTH:
        raise fetch_error(f"The fetchXml is longer than {MAX_LENGTH} characters.")
    if "<!" in text:
        raise fetch_error("The fetchXml must not contain a DOCTYPE, entity declaration or CDATA section.")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise fetch_error(f"The fetchXml is not well-formed XML: {error}.") from None
    if root.tag != "fetch":
        raise fetch_error(f"The fetchXml root element must be 'fetch', not '{root.tag}'.")
    _known_attributes(root, FETCH_ATTRIBUTES)
    for flag in ("distinct", "returntotalrecordcount"):
        if _boolean(root, flag):
            raise fetch_error(f"The fetch attribute '{flag}' is not supported by the emulator.")
    if root.get("output-format") not in (None, "xml-platform"):
        raise fetch_error("The fetch attribute 'output-format' is not supported by the emulator.")
    entities = list(root)
    if len(entities) != 1 or entities[0].tag != "entity":
        raise fetch_error("The fetchXml must contain exactly one 'entity' element.")
    entity = entities[0]
    _known_attributes(entity, {"name"})
    if entity.get("name") != table.logical_name:
        raise fetch_error(
            f"The fetchXml entity '{entity.get('name')}' does not match the entity set '{table.entity_set}'."
        )
    top = _bounded(root, "top")
    count = _bounded(root, "count")
    page = _bounded(root, "page") or 1
    if top is not None and (count is not None or root.get("page") is not None):
        raise fetch_error("The fetch attribute 'top' cannot be used together with 'count' or 'page'.")
    cookie = root.get("paging-cookie")
    if cookie:  # only a speed-up in Dataverse; the page number decides here, but it must be a cookie
        if "<!" in cookie:
            raise fetch_error("The paging-cookie must not contain a DOCTYPE or entity declaration.")
        try:
            if ElementTree.fromstring(cookie).tag != "cookie":
                raise ElementTree.ParseError("not a cookie")
        except ElementTree.ParseError:
            raise fetch_error("The paging-cookie is not valid; send the one the previous page returned.") from None
    aggregate = _boolean(root, "aggregate")
    parsed = _entity_children(catalog, table, entity, aggregate=aggregate, aliases=set())
    columns, predicate, orders, links, aggregates = parsed
    if aggregate:
        if not aggregates or columns:
            raise fetch_error("An aggregate fetch needs attributes with aggregate='count' or 'countcolumn' and an alias.")
        if links or orders:
            raise fetch_error("link-entity and order are not supported in an aggregate fetch by the emulator.")
    elif aggregates:
        raise fetch_error("An attribute with 'aggregate' needs aggregate='true' on the fetch element.")
    if columns is not None and not columns and not aggregate:
        columns = []
    return Fetch(table, columns, predicate, orders, links, top, count, page, aggregates)


def _entity_children(
    catalog: Catalog, table: Table, element: ElementTree.Element, *, aggregate: bool, aliases: set[str], depth: int = 0
) -> tuple[list[str] | None, Predicate | None, list[tuple[str, bool]], list[Link], list[tuple[str, str, str]]]:
    columns: list[str] | None = []
    predicates: list[Predicate] = []
    orders: list[tuple[str, bool]] = []
    links: list[Link] = []
    aggregates: list[tuple[str, str, str]] = []
    for child in element:
        if child.tag == "attribute":
            _known_attributes(child, {"name", "aggregate", "alias"})
            name = _attribute_name(table, child.get("name"))
            function = child.get("aggregate")
            if function is not None:
                if function not in ("count", "countcolumn"):
                    raise fetch_error(f"The aggregate '{function}' is not supported by the emulator (count, countcolumn).")
                alias = child.get("alias")
                if not alias:
                    raise fetch_error("An aggregate attribute needs an 'alias'.")
                aggregates.append((function, name, alias))
            else:
                if child.get("alias") is not None:
                    raise fetch_error("The attribute 'alias' is only supported on aggregate attributes by the emulator.")
                if columns is not None and name not in columns:
                    columns.append(name)
        elif child.tag == "all-attributes":
            _known_attributes(child, set())
            columns = None
        elif child.tag == "filter":
            predicates.append(_filter(table, child))
        elif child.tag == "order":
            _known_attributes(child, {"attribute", "descending"})
            name = _attribute_name(table, child.get("attribute"))
            orders.append((_view_name(table, name), _boolean(child, "descending")))
        elif child.tag == "link-entity":
            if aggregate:
                raise fetch_error("link-entity is not supported in an aggregate fetch by the emulator.")
            links.append(_link(catalog, table, child, aliases, depth + 1))
        else:
            raise fetch_error(f"The element '{child.tag}' is not supported by the emulator's FetchXML.")
    predicate = _all(predicates) if predicates else None
    return columns, predicate, orders, links, aggregates


def _link(catalog: Catalog, parent: Table, element: ElementTree.Element, aliases: set[str], depth: int) -> Link:
    _check_depth(depth)
    _known_attributes(element, {"name", "from", "to", "link-type", "alias", "intersect", "visible"})
    if _boolean(element, "intersect"):
        raise fetch_error("link-entity intersect='true' (many-to-many) is not supported by the emulator.")
    name = element.get("name") or ""
    table = catalog.by_logical.get(name)
    if table is None:
        raise fetch_error(f"The entity with a name = '{name}' was not found in the MetadataCache.")
    link_type = element.get("link-type", "inner")
    if link_type not in ("inner", "outer"):
        raise fetch_error(f"The link-type '{link_type}' is not supported by the emulator (inner, outer).")
    from_attribute = element.get("from") or ""
    to_attribute = element.get("to") or ""
    many_to_one = (
        from_attribute == table.primary_key
        and to_attribute in parent.lookups
        and table.logical_name in parent.lookups[to_attribute].navigations.values()
    )
    one_to_many = (
        to_attribute == parent.primary_key
        and from_attribute in table.lookups
        and parent.logical_name in table.lookups[from_attribute].navigations.values()
    )
    if not (many_to_one or one_to_many):
        raise fetch_error(
            f"link-entity '{name}' from='{from_attribute}' to='{to_attribute}' must join a lookup to the primary key "
            "of the table it points to."
        )
    alias = element.get("alias") or f"{name}{len(aliases) + 1}"
    if alias in aliases:
        raise fetch_error(f"The link-entity alias '{alias}' is used twice.")
    aliases.add(alias)
    columns, predicate, orders, links, _ = _entity_children(
        catalog, table, element, aggregate=False, aliases=aliases, depth=depth
    )
    if orders:
        raise fetch_error("order inside link-entity is not supported by the emulator.")
    return Link(table, alias, from_attribute, to_attribute, link_type == "outer", columns, predicate, links)


def _filter(table: Table, element: ElementTree.Element, depth: int = 1) -> Predicate:
    _check_depth(depth)
    _known_attributes(element, {"type"})
    kind = element.get("type", "and")
    if kind not in ("and", "or"):
        raise fetch_error(f"The filter type '{kind}' is not supported (and, or).")
    parts: list[Predicate] = []
    for child in element:
        if child.tag == "condition":
            parts.append(_condition(table, child))
        elif child.tag == "filter":
            parts.append(_filter(table, child, depth + 1))
        else:
            raise fetch_error(f"The element '{child.tag}' is not allowed inside a filter.")
    if not parts:
        return lambda view: True
    return _all(parts) if kind == "and" else _any(parts)


def _condition(table: Table, element: ElementTree.Element) -> Predicate:
    _known_attributes(element, {"attribute", "operator", "value", "entityname"})
    if element.get("entityname") is not None:
        raise fetch_error("condition entityname is not supported by the emulator; filter inside the link-entity.")
    name = _attribute_name(table, element.get("attribute"))
    operator = element.get("operator") or ""
    if operator not in CONDITION_OPERATORS:
        raise fetch_error(f"The condition operator '{operator}' is not supported by the emulator.")
    key = _view_name(table, name)
    kind = _kind(table, name)
    raw_values = [v.text or "" for v in element if v.tag == "value"]
    if any(v.tag != "value" for v in element):
        raise fetch_error("A condition may contain only 'value' elements.")
    if element.get("value") is not None:
        raw_values.insert(0, element.get("value") or "")
    if operator in NO_VALUE:
        if raw_values:
            raise fetch_error(f"The condition operator '{operator}' takes no value.")
        return (lambda view: view.get(key) is None) if operator == "null" else (lambda view: view.get(key) is not None)
    if operator in MANY_VALUES:
        if not raw_values:
            raise fetch_error(f"The condition operator '{operator}' needs at least one value element.")
        wanted = {_comparable(_typed(kind, v, name)) for v in raw_values}
        if operator == "in":
            return lambda view: _comparable(view.get(key)) in wanted
        return lambda view: view.get(key) is not None and _comparable(view.get(key)) not in wanted
    if len(raw_values) != 1:
        raise fetch_error(f"The condition operator '{operator}' needs exactly one value.")
    raw = raw_values[0]
    if operator in ("like", "not-like"):
        if kind not in (Kind.STRING, Kind.MEMO):
            raise fetch_error(f"The operator '{operator}' needs a text column; '{name}' is not one.")
        pattern = _like_pattern(raw)
        if operator == "like":
            return lambda view: isinstance(view.get(key), str) and pattern.fullmatch(str(view.get(key))) is not None
        return lambda view: isinstance(view.get(key), str) and pattern.fullmatch(str(view.get(key))) is None
    if operator in DATE_OPERATORS:
        if kind not in (Kind.DATETIME, Kind.DATEONLY):
            raise fetch_error(f"The operator '{operator}' needs a date column; '{name}' is not one.")
        day = _typed(Kind.DATEONLY, raw, name)
        if operator == "on-or-after":
            return lambda view: view.get(key) is not None and str(view.get(key))[:10] >= str(day)
        return lambda view: view.get(key) is not None and str(view.get(key))[:10] <= str(day)
    value = _comparable(_typed(kind, raw, name))
    return _compare(operator, key, value)


COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": eq, "ne": ne, "gt": gt, "ge": ge, "lt": lt, "le": le,
}


def _compare(name: str, key: str, value: object) -> Predicate:
    test = COMPARISONS[name]

    def compare(view: View) -> bool:
        current = _comparable(view.get(key))
        # SQL semantics: a null column matches no comparison (UNCONFIRMED for ne).
        return current is not None and test(current, value)

    return compare


def _like_pattern(text: str) -> re.Pattern[str]:
    parts = []
    for char in text:
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _comparable(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


def _typed(kind: Kind | None, raw: str, name: str) -> object:
    text = raw.strip()
    try:
        if kind in (Kind.INTEGER, Kind.BIGINT, Kind.PICKLIST, Kind.STATE, Kind.STATUS):
            return int(text)
        if kind is Kind.DECIMAL:
            return float(text)
        if kind is Kind.BOOLEAN:
            lowered = text.lower()
            if lowered not in ("0", "1", "true", "false"):
                raise ValueError(text)
            return lowered in ("1", "true")
    except ValueError:
        raise fetch_error(f"The value '{raw}' is not valid for the attribute '{name}'.") from None
    if kind in (Kind.DATETIME, Kind.DATEONLY):
        moment = to_utc_text(text) or _midnight(text)
        if moment is None:
            raise fetch_error(f"The value '{raw}' is not a valid date-time for the attribute '{name}'.")
        return moment[:10] if kind is Kind.DATEONLY else moment
    if kind is Kind.GUID or kind is None:  # None: a lookup attribute
        guid = parse_guid(text.strip("{}"))
        if guid is None:
            raise fetch_error(f"The value '{raw}' is not a valid GUID for the attribute '{name}'.")
        return guid
    return text


def _midnight(text: str) -> str | None:
    """A date alone (`2026-03-01`) means its midnight, UTC here (Dataverse uses the user's time zone)."""
    try:
        return date.fromisoformat(text).strftime("%Y-%m-%dT00:00:00Z") if len(text) == 10 else None
    except ValueError:
        return None


def _kind(table: Table, name: str) -> Kind | None:
    if name in table.lookups:
        return None
    return table.columns[name].kind


def _view_name(table: Table, name: str) -> str:
    return table.lookups[name].value_property if name in table.lookups else name


def _attribute_name(table: Table, name: str | None) -> str:
    if not name:
        raise fetch_error("An attribute, order or condition element needs a name.")
    if name == table.primary_key or name in table.columns or name in table.lookups:
        return name
    raise fetch_error(f"'{table.logical_name}' entity doesn't contain attribute with Name = '{name}'.")


def _check_depth(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise fetch_error(f"The fetchXml nests filters or link-entities deeper than {MAX_DEPTH} levels.")


def _known_attributes(element: ElementTree.Element, allowed: set[str]) -> None:
    for name in element.attrib:
        if name not in allowed:
            raise fetch_error(f"The attribute '{name}' of '{element.tag}' is not supported by the emulator's FetchXML.")


def _boolean(element: ElementTree.Element, name: str) -> bool:
    value = element.get(name)
    if value is None:
        return False
    if value.lower() not in ("true", "false", "1", "0"):
        raise fetch_error(f"The value '{value}' of '{name}' is not a boolean.")
    return value.lower() in ("true", "1")


def _bounded(element: ElementTree.Element, name: str) -> int | None:
    value = element.get(name)
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= (MAX_PAGE if name != "page" else 10**6):
        raise fetch_error(f"The fetch attribute '{name}' must be an integer from 1 to {MAX_PAGE if name != 'page' else 10**6}.")
    return int(value)


def _all(parts: Sequence[Predicate]) -> Predicate:
    return lambda view: all(p(view) for p in parts)


def _any(parts: Sequence[Predicate]) -> Predicate:
    return lambda view: any(p(view) for p in parts)


# -- running


Joined = tuple[Record, View, dict[str, tuple[Table, Record]]]  # main row, its view, alias -> linked row


@dataclass
class FetchResult:
    rows: list[Joined]
    more: bool
    aggregate: dict[str, int] | None = None


def run_fetch(
    fetch: Fetch,
    store: Store,
    view_of: Callable[[Table, Record], View],
    readable: Callable[[Table, Record], bool] | None = None,
) -> FetchResult:
    """Rows, joins, order and page; `readable` leaves out main and linked rows the caller may not read."""
    rows: list[Joined] = []
    for record in store.all(fetch.table):
        if readable is not None and not readable(fetch.table, record):
            continue
        view = view_of(fetch.table, record)
        if fetch.predicate is None or fetch.predicate(view):
            rows.append((record, view, {}))
    if fetch.aggregates:
        totals = {}
        for function, name, alias in fetch.aggregates:
            key = _view_name(fetch.table, name)
            totals[alias] = len(rows) if function == "count" else sum(1 for _, v, _ in rows if v.get(key) is not None)
        return FetchResult([], False, totals)
    for link in fetch.links:
        rows = _join(rows, fetch.table, None, link, store, view_of, readable)
    for name, descending in reversed(fetch.orders):
        rows.sort(key=lambda joined: sort_key(joined[1].get(name)), reverse=descending)
    if fetch.top is not None:
        return FetchResult(rows[: fetch.top], False)
    size = fetch.count or MAX_PAGE
    start = (fetch.page - 1) * size
    return FetchResult(rows[start : start + size], start + size < len(rows))


def _join(
    rows: list[Joined],
    parent_table: Table,
    parent_alias: str | None,
    link: Link,
    store: Store,
    view_of: Callable[[Table, Record], View],
    readable: Callable[[Table, Record], bool] | None,
) -> list[Joined]:
    result: list[Joined] = []
    children_by_parent: dict[str, list[Record]] | None = None
    if link.to_attribute == parent_table.primary_key:  # one-to-many: index the children once
        children_by_parent = {}
        for child in store.all(link.table):
            target = child.lookups.get(link.from_attribute)
            if target is not None and target[0] == parent_table.logical_name:
                children_by_parent.setdefault(target[1], []).append(child)
    for record, view, linked in rows:
        parent = record if parent_alias is None else linked.get(parent_alias, (None, None))[1]
        candidates: list[Record] = []
        if parent is not None:
            if children_by_parent is not None:
                candidates = children_by_parent.get(parent.id, [])
            else:
                target = parent.lookups.get(link.to_attribute)
                if target is not None and target[0] == link.table.logical_name:
                    found = store.get(link.table, target[1])
                    candidates = [found] if found is not None else []
        if readable is not None:
            candidates = [c for c in candidates if readable(link.table, c)]
        matches = [c for c in candidates if link.predicate is None or link.predicate(view_of(link.table, c))]
        if matches:
            result.extend((record, view, {**linked, link.alias: (link.table, m)}) for m in matches)
        elif link.outer:
            result.append((record, view, linked))
    for nested in link.links:
        result = _join(result, link.table, link.alias, nested, store, view_of, readable)
    return result


def paging_cookie(fetch: Fetch, page: list[Joined]) -> str:
    """The `<cookie pagenumber=... pagingcookie=...>` annotation value for the next page."""
    key = fetch.table.primary_key
    if page:
        first, last = page[0][0].id, page[-1][0].id
        inner = f'<cookie page="{fetch.page}"><{key} last="{{{last.upper()}}}" first="{{{first.upper()}}}" /></cookie>'
    else:
        inner = f'<cookie page="{fetch.page}" />'
    encoded = quote(quote(inner, safe=""), safe="")
    return f'<cookie pagenumber="{fetch.page + 1}" pagingcookie="{encoded}" istracking="False" />'


def linked_values(links: Sequence[Link], linked: dict[str, tuple[Table, Record]]) -> dict[str, object]:
    """`alias.column` values of the joined rows (absent for an outer link that found none)."""
    values: dict[str, object] = {}
    for link in links:
        if link.alias not in linked:
            continue
        table, record = linked[link.alias]
        for name in link_columns(link):
            if name == table.primary_key:
                values[f"{link.alias}.{name}"] = record.id
            elif name in table.lookups:
                target = record.lookups.get(name)
                values[f"{link.alias}.{name}"] = target[1] if target else None
            else:
                values[f"{link.alias}.{name}"] = record.values.get(name)
    return values


def link_columns(link: Link) -> list[str]:
    if link.columns is None:
        return [link.table.primary_key, *[c for c in link.table.columns if c != link.table.primary_key],
                *link.table.lookups]
    return link.columns


def all_links(links: Sequence[Link]) -> list[Link]:
    flat = []
    for link in links:
        flat.append(link)
        flat.extend(all_links(link.links))
    return flat


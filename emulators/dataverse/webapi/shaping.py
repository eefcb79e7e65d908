"""Rows in the Web API read shape: `@odata.etag`, columns, `_x_value` lookups, annotations (docs/dataverse-webapi.md#44-annotations, #45-response-shapes)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from emulators.dataverse.model.catalog import Catalog
from emulators.dataverse.model.schema import Table
from emulators.dataverse.model.store import Record, Store
from emulators.dataverse.model.values import formatted
from emulators.dataverse.webapi.odata_filter import normalised_property
from emulators.dataverse.webapi.ordering import order_rows

Readable = Callable[[Table, Record], bool]
FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOOKUP_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
NAVIGATION = "Microsoft.Dynamics.CRM.associatednavigationproperty"


@dataclass(frozen=True)
class Annotations:
    """Which annotations `Prefer: odata.include-annotations` asked for ("*", names, or "Prefix.*")."""

    patterns: tuple[str, ...] = ()

    @classmethod
    def from_prefer(cls, value: str | None) -> Annotations:
        if not value:
            return cls()
        return cls(tuple(p.strip() for p in value.split(",") if p.strip()))

    def wants(self, name: str) -> bool:
        for pattern in self.patterns:
            if pattern == "*" or pattern == name:
                return True
            if pattern.endswith(".*") and name.startswith(pattern[:-1]):
                return True
        return False

    def __bool__(self) -> bool:
        return bool(self.patterns)


@dataclass(frozen=True)
class Expansion:
    navigation: str
    select: tuple[str, ...] | None = None
    collection: bool = False
    filter: object = None  # a compiled predicate for collection expansions
    orderby: tuple[tuple[str, bool], ...] = ()
    top: int | None = None
    nested: tuple["Expansion", ...] = field(default_factory=tuple)


def etag(record: Record) -> str:
    return f'W/"{record.version}"'


def filter_view(table: Table, record: Record) -> dict[str, object]:
    """What $filter and $orderby see: every readable property by name."""
    view: dict[str, object] = {table.primary_key: record.id}
    for name in table.columns:
        if name != table.primary_key:
            view[name] = record.values.get(name)
    view.update(table.constants)
    for lookup in table.lookups.values():
        target = record.lookups.get(lookup.attribute)
        view[lookup.value_property] = target[1] if target else None
    return view


class Views:
    """Filter views per row version, and equality indexes per table state.

    A query reads every row but rows change rarely: views are cached per row version, and an
    `eq` filter looks its value up in an index rebuilt only after the table changed.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str], tuple[int, dict[str, object]]] = {}
        self._indexes: dict[tuple[str, str, str | None], tuple[int, dict[object, list[Record]]]] = {}

    def of(self, table: Table, record: Record) -> dict[str, object]:
        key = (table.logical_name, record.id)
        hit = self._cache.get(key)
        if hit is not None and hit[0] == record.version:
            return hit[1]
        view = filter_view(table, record)
        self._cache[key] = (record.version, view)
        return view

    def matching(self, store: Store, table: Table, name: str, value: object, edm: str | None) -> list[Record]:
        """Rows whose `name` normalises to `value` (the caller still applies the whole filter)."""
        key = (table.logical_name, name, edm)
        changes = store.changes(table)
        hit = self._indexes.get(key)
        if hit is None or hit[0] != changes:
            index: dict[object, list[Record]] = {}
            for record in store.all(table):
                normalised = normalised_property(self.of(table, record).get(name), edm)
                try:
                    index.setdefault(normalised, []).append(record)
                except TypeError:  # an unhashable value cannot be equal to a literal anyway
                    continue
            hit = (changes, index)
            self._indexes[key] = hit
        return hit[1].get(value, [])

    def clear(self) -> None:
        self._cache.clear()
        self._indexes.clear()


class Shaper:
    def __init__(self, catalog: Catalog, store: Store) -> None:
        self.catalog = catalog
        self.store = store

    def row(
        self,
        table: Table,
        record: Record,
        select: Sequence[str] | None = None,
        annotations: Annotations = Annotations(),
        expand: Sequence[Expansion] = (),
        readable: Readable | None = None,
    ) -> dict[str, object]:
        """One row in the read shape; `readable` leaves out expanded rows the caller may not read."""
        shaped: dict[str, object] = {"@odata.etag": etag(record)}
        names = list(select) if select else self._all_properties(table)
        if table.primary_key not in names:
            names.append(table.primary_key)
        for name in names:
            self._property(shaped, table, record, name, annotations)
        for expansion in expand:
            shaped[expansion.navigation] = self._expanded(table, record, expansion, annotations, readable)
        return shaped

    @staticmethod
    def _all_properties(table: Table) -> list[str]:
        names = [n for n in table.columns if n != table.primary_key]
        names += list(table.constants)
        names += [lookup.value_property for lookup in table.lookups.values()]
        return names

    def _property(
        self, shaped: dict[str, object], table: Table, record: Record, name: str, annotations: Annotations
    ) -> None:
        if name == table.primary_key:
            shaped[name] = record.id
            return
        lookup = table.lookup_by_value_property(name)
        if lookup is not None:
            target = record.lookups.get(lookup.attribute)
            if target is None:
                shaped[name] = None
                return
            logical, target_id = target
            if annotations.wants(FORMATTED):
                label = self.primary_name(logical, target_id)
                if label is not None:
                    shaped[f"{name}@{FORMATTED}"] = label
            if annotations.wants(NAVIGATION):
                navigation = next(n for n, t in lookup.navigations.items() if t == logical)
                shaped[f"{name}@{NAVIGATION}"] = navigation
            if annotations.wants(LOOKUP_NAME):
                shaped[f"{name}@{LOOKUP_NAME}"] = logical
            shaped[name] = target_id
            return
        if name in table.constants:
            shaped[name] = table.constants[name]
            return
        value = record.values.get(name)
        column = table.columns[name]
        if value is not None and annotations.wants(FORMATTED):
            text = formatted(column, value)
            if text is not None:
                shaped[f"{name}@{FORMATTED}"] = text
        shaped[name] = value

    def primary_name(self, logical: str, record_id: str) -> str | None:
        table = self.catalog.table(logical)
        target = self.store.get(table, record_id)
        if target is None:
            return None
        value = target.values.get(table.primary_name)
        return value if isinstance(value, str) else None

    def _expanded(
        self, table: Table, record: Record, expansion: Expansion, annotations: Annotations, readable: Readable | None
    ) -> object:
        if not expansion.collection:
            lookup = table.navigation(expansion.navigation)
            assert lookup is not None
            target = record.lookups.get(lookup.attribute)
            if target is None or target[0] != lookup.navigations[expansion.navigation]:
                return None
            target_table = self.catalog.table(target[0])
            target_record = self.store.get(target_table, target[1])
            if target_record is None or (readable is not None and not readable(target_table, target_record)):
                return None  # a related row the caller may not read expands to null (UNCONFIRMED)
            return self.row(target_table, target_record, expansion.select, annotations, expansion.nested, readable)
        collection = table.collections[expansion.navigation]
        child_table = self.catalog.table(collection.child)
        children = related_rows(self.store, table, record.id, child_table, collection.lookup)
        if readable is not None:
            children = [child for child in children if readable(child_table, child)]
        views = [(child, filter_view(child_table, child)) for child in children]
        if expansion.filter is not None:
            views = [(c, v) for c, v in views if expansion.filter(v)]  # type: ignore[operator]
        views = order_rows(views, expansion.orderby)
        if expansion.top is not None:
            views = views[: expansion.top]
        return [self.row(child_table, c, expansion.select, annotations, expansion.nested, readable) for c, _ in views]


def related_rows(store: Store, parent: Table, parent_id: str, child: Table, attribute: str) -> list[Record]:
    wanted = (parent.logical_name, parent_id)
    return [r for r in store.all(child) if r.lookups.get(attribute) == wanted]

"""The emulator's table catalogue: standard tables plus the caller's customisations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from emulators.dataverse.model.schema import Column, Table
from emulators.dataverse.model.tables import custom_column, standard_tables

CustomColumns = Mapping[str, Mapping[str, "str | Mapping[str, object]"]]


class Catalog:
    """Tables by logical name and by (case-sensitive) entity set name."""

    def __init__(
        self,
        custom_columns: CustomColumns | None = None,
        alternate_keys: Mapping[str, Sequence[Sequence[str]]] | None = None,
        entity_sets: Mapping[str, str] | None = None,
    ) -> None:
        tables = {t.logical_name: t for t in standard_tables()}
        for logical, columns in (custom_columns or {}).items():
            table = self._known(tables, logical)
            added = {name: custom_column(name, spec) for name, spec in columns.items()}
            tables[logical] = replace(table, columns={**table.columns, **added})
        for logical, keys in (alternate_keys or {}).items():
            table = self._known(tables, logical)
            for key in keys:
                for column in key:
                    if column not in table.columns:
                        raise ValueError(f"alternate key column {column!r} is not a column of {logical!r}")
            tables[logical] = replace(table, keys=tuple(tuple(k) for k in keys))
        for logical, entity_set in (entity_sets or {}).items():
            tables[logical] = replace(self._known(tables, logical), entity_set=entity_set)
        self.by_logical: dict[str, Table] = tables
        self.by_set: dict[str, Table] = {t.entity_set: t for t in tables.values()}

    @staticmethod
    def _known(tables: Mapping[str, Table], logical: str) -> Table:
        if logical not in tables:
            raise ValueError(f"unknown table {logical!r}; known: {sorted(tables)}")
        return tables[logical]

    def table(self, logical: str) -> Table:
        return self.by_logical[logical]

    def column(self, logical: str, name: str) -> Column | None:
        return self.by_logical[logical].columns.get(name)

    def stored_tables(self) -> list[Table]:
        return [t for t in self.by_logical.values() if t.view_of is None]

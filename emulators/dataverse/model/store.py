"""In-memory rows with all-or-nothing transactions, shared by the server thread and test thread.

Every read and write runs under one re-entrant lock: request handling is synchronous inside
the event loop, so a request (or a whole changeset) is atomic with respect to control calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from emulators.dataverse.model.catalog import Catalog
from emulators.dataverse.model.schema import Table


@dataclass(frozen=True)
class Record:
    """One row. Replaced, never mutated, so the undo journal can keep the old object."""

    id: str
    version: int
    values: dict[str, object] = field(default_factory=dict)
    lookups: dict[str, tuple[str, str]] = field(default_factory=dict)  # attribute -> (target logical, id)


Undo = Callable[[], None]


class Store:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.lock = threading.RLock()
        self._rows: dict[str, dict[str, Record]] = {t.logical_name: {} for t in catalog.stored_tables()}
        self._version = 1000
        self._journal: list[Undo] | None = None
        self._changes: dict[str, int] = dict.fromkeys(self._rows, 0)  # per table, for derived caches
        self.on_commit: Callable[[], None] | None = None

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """A transaction: the outermost one rolls back every write on any exception."""
        with self.lock:
            if self._journal is not None:
                yield
                return
            journal: list[Undo] = []
            self._journal = journal
            try:
                yield
            except BaseException:
                for undo in reversed(journal):
                    undo()
                raise
            finally:
                self._journal = None
            if journal and self.on_commit is not None:
                self.on_commit()

    def next_version(self) -> int:
        with self.lock:
            self._version += 1
            return self._version

    def _source(self, table: Table) -> dict[str, Record]:
        return self._rows[table.view_of or table.logical_name]

    def changes(self, table: Table) -> int:
        """A number that changes whenever a row of `table` (or the table it views) is written."""
        return self._changes[table.view_of or table.logical_name]

    def _touch(self, logical: str) -> None:
        self._changes[logical] += 1

    def get(self, table: Table, record_id: str) -> Record | None:
        with self.lock:
            return self._source(table).get(record_id)

    def all(self, table: Table) -> list[Record]:
        with self.lock:
            return list(self._source(table).values())

    def put(self, table: Table, record: Record) -> None:
        with self.atomic():
            logical = table.logical_name
            rows = self._rows[logical]
            previous = rows.get(record.id)
            rows[record.id] = record
            self._touch(logical)
            assert self._journal is not None
            if previous is None:
                self._journal.append(lambda: (rows.pop(record.id, None), self._touch(logical)))
            else:
                self._journal.append(lambda: (rows.__setitem__(record.id, previous), self._touch(logical)))

    def remove(self, table: Table, record_id: str) -> None:
        with self.atomic():
            logical = table.logical_name
            rows = self._rows[logical]
            previous = rows.pop(record_id, None)
            if previous is not None:
                self._touch(logical)
                assert self._journal is not None
                self._journal.append(lambda: (rows.__setitem__(record_id, previous), self._touch(logical)))

    def clear(self) -> None:
        with self.lock:
            for logical, rows in self._rows.items():
                rows.clear()
                self._touch(logical)

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {logical: len(rows) for logical, rows in self._rows.items()}

    def snapshot(self) -> dict[str, object]:
        """Everything, as JSON-ready data (for --data files)."""
        with self.lock:
            return {
                "version": self._version,
                "tables": {
                    logical: [
                        {
                            "id": r.id,
                            "version": r.version,
                            "values": r.values,
                            "lookups": {a: list(t) for a, t in r.lookups.items()},
                        }
                        for r in rows.values()
                    ]
                    for logical, rows in self._rows.items()
                },
            }

    def restore(self, data: dict[str, object]) -> None:
        with self.lock:
            self.clear()
            self._version = max(self._version, int(data.get("version", 0)))  # type: ignore[call-overload]
            tables = data.get("tables", {})
            assert isinstance(tables, dict)
            for logical, rows in tables.items():
                if logical not in self._rows:
                    continue
                for raw in rows:
                    lookups = {a: (t[0], t[1]) for a, t in raw.get("lookups", {}).items()}
                    record = Record(raw["id"], int(raw["version"]), dict(raw["values"]), lookups)
                    self._rows[logical][record.id] = record

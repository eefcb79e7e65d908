"""The emulator without its server: tables, rows, request log, latency and faults, all thread-safe."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from emulators.dataverse.hosting.faults import Faults
from emulators.dataverse.hosting.request_log import LoggedRequest, RequestLog
from emulators.dataverse.model import persistence
from emulators.dataverse.model.catalog import Catalog, CustomColumns
from emulators.dataverse.model.schema import Table
from emulators.dataverse.model.seed import base_rows, caller_rows, demo_rows
from emulators.dataverse.model.store import Store
from emulators.dataverse.model.values import parse_guid
from emulators.dataverse.webapi.api import WebApi
from emulators.dataverse.webapi.shaping import Annotations


class EmulatorCore:
    def __init__(
        self,
        custom_columns: CustomColumns | None = None,
        data_file: str | Path | None = None,
        seed_demo: bool = False,
        *,
        alternate_keys: Mapping[str, Sequence[Sequence[str]]] | None = None,
        entity_sets: Mapping[str, str] | None = None,
    ) -> None:
        self.catalog = Catalog(custom_columns, alternate_keys, entity_sets)
        self.store = Store(self.catalog)
        self.api = WebApi(self.catalog, self.store)
        self.log = RequestLog()
        self.faults = Faults()
        self.seed_demo = seed_demo
        self.data_file = Path(data_file) if data_file is not None else None
        self._latency = 0.0
        self._generation = 0  # bumped by reset/stop so hanging requests give up
        self._control = threading.Lock()
        if self.data_file is None or not persistence.load(self.store, self.data_file):
            self._seed()
        if self.data_file is not None:
            data_file_path = self.data_file
            self.store.on_commit = lambda: persistence.save(self.store, data_file_path)
            persistence.save(self.store, data_file_path)

    # -- rows
    def _seed(self) -> None:
        rows = base_rows() + caller_rows() + (demo_rows() if self.seed_demo else [])
        with self.store.atomic():
            for entity_set, body in rows:
                self.api.writer.create(self.catalog.by_set[entity_set], body)

    def reset(self) -> None:
        """Rows back to the seed; request log, latency and faults cleared."""
        with self.store.lock:
            on_commit, self.store.on_commit = self.store.on_commit, None
            try:
                self.store.clear()
                self.api.views.clear()
                self._seed()
            finally:
                self.store.on_commit = on_commit
            if on_commit is not None:
                on_commit()
        self.log.clear()
        self.faults.clear()
        self.latency = 0.0
        with self._control:
            self._generation += 1

    def _table(self, entity_set: str) -> Table:
        table = self.catalog.by_set.get(entity_set) or self.catalog.by_logical.get(entity_set)
        if table is None:
            raise KeyError(f"unknown entity set {entity_set!r}; known: {sorted(self.catalog.by_set)}")
        return table

    def insert(self, entity_set: str, row: Mapping[str, object]) -> str:
        """Seed a row with the same validation as a create; returns its id (raises ServiceError)."""
        table = self._table(entity_set)
        with self.store.atomic():
            return self.api.writer.create(table, dict(row)).id

    def rows(self, entity_set: str, *, annotations: bool = False) -> list[dict[str, object]]:
        """Rows in the Web API read shape (`_x_value` lookups; annotations="*" when asked)."""
        table = self._table(entity_set)
        wanted = Annotations(("*",)) if annotations else Annotations()
        with self.store.lock:
            return [self.api.shaper.row(table, r, annotations=wanted) for r in self.store.all(table)]

    def row(self, entity_set: str, record_id: str, *, annotations: bool = False) -> dict[str, object] | None:
        table = self._table(entity_set)
        guid = parse_guid(record_id)
        wanted = Annotations(("*",)) if annotations else Annotations()
        with self.store.lock:
            record = self.store.get(table, guid) if guid else None
            return None if record is None else self.api.shaper.row(table, record, annotations=wanted)

    # -- request log
    @property
    def requests(self) -> list[LoggedRequest]:
        return self.log.entries()

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return self.log.count(method, path)

    def clear_log(self) -> None:
        self.log.clear()

    # -- latency and hang generations
    @property
    def latency(self) -> float:
        with self._control:
            return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        with self._control:
            self._latency = float(seconds)

    @property
    def generation(self) -> int:
        with self._control:
            return self._generation

    def interrupt_waits(self) -> None:
        with self._control:
            self._generation += 1

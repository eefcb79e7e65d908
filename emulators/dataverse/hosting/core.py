"""The emulator without its server: tables, rows, request log, latency and faults, all thread-safe."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from emulators.dataverse.hosting.faults import Faults
from emulators.dataverse.hosting.request_log import LoggedRequest, RequestLog
from emulators.dataverse.hosting.tokens import TokenValidator
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
        auth: str = "none",
        authority: str | None = None,
        authority_ca: str | Path | None = None,
        resource: str | None = None,
    ) -> None:
        """`auth="entra"` checks bearer tokens of `authority` (https://host/<tenant>, its CA in
        `authority_ca`) for the audience `resource` (default: the emulator's own URL)."""
        if auth not in ("none", "entra"):
            raise ValueError(f"auth must be 'none' or 'entra', not {auth!r}")
        if auth == "entra" and not authority:
            raise ValueError("auth='entra' needs the authority (https://host/<tenant id>) whose tokens to accept")
        self.auth = auth
        self.tokens = (
            TokenValidator(authority, str(authority_ca) if authority_ca else None)
            if auth == "entra" and authority
            else None
        )
        self._resource = resource.rstrip("/") if resource else None
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
        self.api.principals.levels.clear()
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

    # -- principals and access levels (docs/emulator.md#tokens-and-record-level-security)
    @property
    def resource_url(self) -> str:
        """The audience tokens must carry: the environment URL (`resource`, else the emulator's URL)."""
        return self._resource or self._own_url()

    def _own_url(self) -> str:
        raise RuntimeError("the emulator has no URL before it is started; pass resource=")

    def set_access_level(self, user_id: str, level: str) -> None:
        """"organization", "user" or "none" for one systemuser (emulator configuration, kept until reset())."""
        with self.store.lock:
            self.api.principals.set_level(user_id, level)

    def access_levels(self) -> dict[str, str]:
        """Every systemuser's effective access level."""
        table = self._table("systemusers")
        with self.store.lock:
            return {r.id: self.api.principals.level_of(r) for r in self.store.all(table)}

    def add_user(self, object_id: str, name: str = "Test User", access: str = "user") -> str:
        """A systemuser for an Entra ID user (`oid` = `object_id`) with an access level; returns its id."""
        return self._add_principal({"azureactivedirectoryobjectid": object_id, "fullname": name}, access)

    def add_application_user(self, client_id: str, name: str = "Application User", access: str = "organization") -> str:
        """An application user (`applicationid` = the app's client id); returns its systemuserid."""
        return self._add_principal({"applicationid": client_id, "fullname": name}, access)

    def _add_principal(self, values: dict[str, object], access: str) -> str:
        user_id = str(uuid.uuid4())
        with self.store.lock:
            self.api.principals.set_level(user_id, access)
            self.insert("systemusers", {"systemuserid": user_id, **values})
        return user_id

    # -- request log
    @property
    def requests(self) -> list[LoggedRequest]:
        return self.log.entries()

    def count(self, method: str | None = None, path: str | None = None, caller: str | None = None) -> int:
        return self.log.count(method, path, caller)

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

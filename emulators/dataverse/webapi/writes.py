"""Create, update and delete with Dataverse's validation: binds, deep insert, state, keys (docs/dataverse-webapi.md#3-writes, #28-appointment, #29-activityparty)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from emulators.dataverse.model.catalog import Catalog
from emulators.dataverse.model.schema import Collection, Lookup, Table
from emulators.dataverse.model.seed import CALLER_USER_ID
from emulators.dataverse.model.service_errors import (
    PAYLOAD,
    ServiceError,
    bad_payload,
    duplicate,
    duplicate_key,
    invalid_argument,
    invalid_property,
    key_missing,
    record_missing,
)
from emulators.dataverse.model.store import Record, Store
from emulators.dataverse.model.tables import OWNER
from emulators.dataverse.model.values import coerce, parse_guid
from emulators.dataverse.webapi.paths import KeyRef, parse_key, split_segments, strip_service_root

APPOINTMENT_PARTY_MASKS = {5, 6, 7, 8, 9}


@dataclass
class Changes:
    values: dict[str, object] = field(default_factory=dict)
    lookups: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    nested: list[tuple[Collection, list[object]]] = field(default_factory=list)
    primary_key: str | None = None


def now_text() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Writer:
    def __init__(self, catalog: Catalog, store: Store) -> None:
        self.catalog = catalog
        self.store = store
        self._parsed_references: dict[str, tuple[Table, KeyRef]] = {}  # bind text -> parsed (bulk binds repeat)
        # The systemuser that owns rows created without ownerid@odata.bind: the request's caller
        # (set by WebApi.handle under the store lock), else the seeded caller.
        self.acting_user = CALLER_USER_ID
        # Called with every row a lookup is bound to (the caller needs Append To on it); None: no check.
        self.append_to: Callable[[Table, Record], None] | None = None

    # -- references
    def find(self, table: Table, key: KeyRef) -> Record | None:
        if key.id is not None:
            return self.store.get(table, key.id)
        wanted = {name: _fold(value) for name, value in key.values}
        for record in self.store.all(table):
            if all(_fold(record.values.get(name)) == value for name, value in wanted.items()):
                return record
        return None

    def require(self, table: Table, key: KeyRef) -> Record:
        record = self.find(table, key)
        if record is None:
            raise record_missing(table.logical_name, key.id) if key.id else key_missing(table.logical_name)
        return record

    def resolve_reference(
        self, reference: object, content_ids: Mapping[str, str] | None, entity_set: str
    ) -> tuple[Table, Record]:
        """A bind or @odata.id value -> the row it names (docs/dataverse-webapi.md#31-create, #36-alternate-keys, #51-batch-request)."""
        if not isinstance(reference, str) or not reference:
            raise bad_payload(entity_set, f"The @odata.bind value '{reference}' is not a valid entity reference.")
        text = reference
        if text.startswith("$"):
            if content_ids is None or text not in content_ids:
                raise ServiceError(
                    400, PAYLOAD, f"Content-ID Reference: '{text}' does not exist in the batch context."
                )
            text = content_ids[text]
        parsed = self._parsed_references.get(text)
        if parsed is not None:
            return parsed[0], self.require(*parsed)
        segments = split_segments(strip_service_root(text))
        if len(segments) != 1 or segments[0].key is None:
            raise bad_payload(entity_set, f"The @odata.bind value '{reference}' is not a valid entity reference.")
        target = self.catalog.by_set.get(segments[0].name)
        if target is None:
            raise ServiceError(400, PAYLOAD, f"Resource not found for the segment '{segments[0].name}'.")
        key = parse_key(target, segments[0].key)
        if len(self._parsed_references) < 10_000:
            self._parsed_references[text] = (target, key)
        return target, self.require(target, key)

    # -- body -> changes
    def changes(
        self, table: Table, body: Mapping[str, object], *, creating: bool, content_ids: Mapping[str, str] | None
    ) -> Changes:
        result = Changes()
        for name, value in body.items():
            if name.startswith("@"):
                if name == "@odata.type" and value != f"#{table.type_name}" and value != table.type_name:
                    raise bad_payload(table.entity_set, f"The @odata.type '{value}' does not match '{table.type_name}'.")
                continue
            if "@" in name:
                prop, _, annotation = name.partition("@")
                if annotation == "odata.bind":
                    self._bind(table, prop, value, result, content_ids)
                continue
            if name == table.primary_key:
                guid = parse_guid(value) if isinstance(value, str) else None
                if guid is None:
                    raise bad_payload(table.entity_set, f"Cannot convert the literal '{value}' to the expected type 'Edm.Guid'.")
                result.primary_key = guid
                continue
            collection = table.collections.get(name)
            if collection is not None:
                if not (creating and collection.deep_insert):
                    raise bad_payload(table.entity_set, f"Deep insert of '{name}' is only supported on create.")
                if not isinstance(value, list):
                    raise bad_payload(table.entity_set, f"The value of '{name}' must be an array.")
                result.nested.append((collection, value))
                continue
            if table.navigation(name) is not None:
                raise bad_payload(
                    table.entity_set, f"Set '{name}' with '{name}@odata.bind'; nested single-valued inserts are not supported."
                )
            column = table.columns.get(name)
            if column is None or not column.writable:
                raise invalid_property(table.type_name, name)
            result.values[name] = coerce(table, column, value)
        return result

    def _bind(
        self,
        table: Table,
        navigation: str,
        value: object,
        result: Changes,
        content_ids: Mapping[str, str] | None,
    ) -> None:
        lookup = table.navigation(navigation)
        if lookup is None:
            raise bad_payload(
                table.entity_set,
                f"An undeclared property '{navigation}' which only has property annotations in the payload but no "
                "property value was found in the payload. In OData, only declared navigation properties and declared "
                "named streams can be represented as properties without values.",
            )
        if value is None:
            # Clearing with a null bind is UNCONFIRMED (docs/dataverse-webapi.md#32-update); DELETE .../$ref is the documented way.
            result.lookups[lookup.attribute] = None
            return
        target_table, target = self.resolve_reference(value, content_ids, table.entity_set)
        expected = lookup.navigations[navigation]
        if target_table.logical_name != expected:
            raise bad_payload(
                table.entity_set,
                f"The navigation property '{navigation}' binds to '{expected}', not '{target_table.logical_name}'.",
            )
        if self.append_to is not None:
            self.append_to(target_table, target)
        result.lookups[lookup.attribute] = (target_table.logical_name, target.id)

    # -- operations
    def create(
        self,
        table: Table,
        body: Mapping[str, object],
        *,
        record_id: str | None = None,
        key_values: Mapping[str, object] | None = None,
        content_ids: Mapping[str, str] | None = None,
        parent: tuple[str, tuple[str, str]] | None = None,
    ) -> Record:
        _writable_table(table, "Create")
        changes = self.changes(table, body, creating=True, content_ids=content_ids)
        if key_values:
            changes.values.update(key_values)
        if parent is not None:
            changes.lookups[parent[0]] = parent[1]
        new_id = record_id or changes.primary_key or str(uuid.uuid4())
        if record_id and changes.primary_key and changes.primary_key != record_id:
            raise bad_payload(table.entity_set, "The primary key in the body does not match the URL.")
        if self.store.get(table, new_id) is not None:
            raise duplicate()
        if "statecode" in changes.values:
            # statecode is not valid for create (IsValidForCreate = False, docs/dataverse-webapi.md#28-appointment): create, then PATCH the state.
            raise invalid_argument(f"The 'statecode' attribute is not valid for create on '{table.logical_name}'.")
        values = {name: column.default for name, column in table.columns.items() if column.default is not None}
        values.update({k: v for k, v in changes.values.items()})
        if table.states is not None:
            status = values.get("statuscode")
            if status is not None and status not in table.states.pairs[0]:
                raise invalid_argument(
                    f"{status} is not a valid status code for state code {table.logical_name}State.0 "
                    f"on {table.logical_name}."
                )
            values["statecode"] = 0
            values["statuscode"] = status if status is not None else table.states.default_status(0)
        lookups = {k: v for k, v in changes.lookups.items() if v is not None}
        if OWNER in table.lookups and OWNER not in lookups:
            lookups[OWNER] = ("systemuser", self.acting_user)
        self._check_required(table, values, lookups)
        _derive(table, values, changes.values)
        stamp = now_text()
        values["createdon"] = values["modifiedon"] = stamp
        version = self.store.next_version()
        values["versionnumber"] = version
        record = Record(new_id, version, values, lookups)
        self._check_party(table, record)
        with self.store.atomic():
            self._check_unique_keys(table, record)
            self.store.put(table, record)
            for collection, items in changes.nested:
                child = self.catalog.table(collection.child)
                for item in items:
                    if not isinstance(item, dict):
                        raise bad_payload(table.entity_set, f"Items of '{collection.name}' must be objects.")
                    self.create(
                        child,
                        item,
                        content_ids=content_ids,
                        parent=(collection.lookup, (table.logical_name, new_id)),
                    )
        return record

    def update(
        self,
        table: Table,
        existing: Record,
        body: Mapping[str, object],
        *,
        content_ids: Mapping[str, str] | None = None,
        drop_keys: bool = False,
    ) -> Record:
        _writable_table(table, "Update")
        changes = self.changes(table, body, creating=False, content_ids=content_ids)
        if changes.primary_key is not None and changes.primary_key != existing.id:
            raise bad_payload(table.entity_set, "The primary key in the body does not match the record being updated.")
        if drop_keys:
            for key in table.keys:
                for column in key:
                    changes.values.pop(column, None)
        values = dict(existing.values)
        values.update(changes.values)
        if table.states is not None and ("statecode" in changes.values or "statuscode" in changes.values):
            values["statecode"], values["statuscode"] = _state_pair(table, changes.values)
        lookups = dict(existing.lookups)
        for attribute, target in changes.lookups.items():
            if target is None:
                lookups.pop(attribute, None)
            else:
                lookups[attribute] = target
        self._check_required(table, values, lookups)
        _derive(table, values, changes.values)
        values["modifiedon"] = now_text()
        version = self.store.next_version()
        values["versionnumber"] = version
        record = Record(existing.id, version, values, lookups)
        self._check_party(table, record)
        with self.store.atomic():
            self._check_unique_keys(table, record)
            self.store.put(table, record)
        return record

    def delete(self, table: Table, record: Record) -> None:
        """Delete with the relationship behaviour: parental links cascade, others are cleared."""
        _writable_table(table, "Delete")
        with self.store.atomic():
            self.store.remove(table, record.id)
            reference = (table.logical_name, record.id)
            for other in self.catalog.stored_tables():
                for lookup in other.lookups.values():
                    if table.logical_name not in lookup.navigations.values():
                        continue
                    for row in self.store.all(other):
                        if row.lookups.get(lookup.attribute) != reference:
                            continue
                        if lookup.cascade_delete:
                            self.delete(other, row)
                        else:
                            lookups = {a: t for a, t in row.lookups.items() if a != lookup.attribute}
                            version = self.store.next_version()
                            values = {**row.values, "versionnumber": version, "modifiedon": now_text()}
                            self.store.put(other, Record(row.id, version, values, lookups))

    def set_lookup(self, table: Table, record: Record, lookup: Lookup, target: tuple[str, str] | None) -> Record:
        lookups = dict(record.lookups)
        if target is None:
            lookups.pop(lookup.attribute, None)
        else:
            lookups[lookup.attribute] = target
        self._check_required(table, record.values, lookups)
        version = self.store.next_version()
        values = {**record.values, "versionnumber": version, "modifiedon": now_text()}
        updated = Record(record.id, version, values, lookups)
        self.store.put(table, updated)
        return updated

    def replace_collection(
        self,
        table: Table,
        parent: Record,
        collection: Collection,
        items: list[object],
        content_ids: Mapping[str, str] | None = None,
    ) -> None:
        """PUT <set>(<id>)/<collection>: the children become exactly `items` (docs/dataverse-webapi.md#29-activityparty)."""
        child = self.catalog.table(collection.child)
        reference = (table.logical_name, parent.id)
        with self.store.atomic():
            for row in list(self.store.all(child)):
                if row.lookups.get(collection.lookup) == reference:
                    self.store.remove(child, row.id)
            for item in items:
                if not isinstance(item, dict):
                    raise bad_payload(table.entity_set, f"Items of '{collection.name}' must be objects.")
                self.create(child, item, content_ids=content_ids, parent=(collection.lookup, reference))
            self.update(table, parent, {})

    # -- rules
    def _check_required(
        self, table: Table, values: Mapping[str, object], lookups: Mapping[str, tuple[str, str]]
    ) -> None:
        for column in table.columns.values():
            if column.required and values.get(column.name) is None:
                raise invalid_argument(
                    f"Attribute '{column.name}' is required on '{table.logical_name}' and cannot be null."
                )
        for lookup in table.lookups.values():
            if lookup.required and lookup.attribute not in lookups:
                raise invalid_argument(
                    f"Lookup '{lookup.attribute}' is required on '{table.logical_name}'; "
                    f"bind it with {'/'.join(lookup.navigations)}@odata.bind."
                )

    def _check_unique_keys(self, table: Table, record: Record) -> None:
        for index, key in enumerate(table.keys):
            mine = tuple(_fold(record.values.get(c)) for c in key)
            if any(v is None for v in mine):
                continue
            for other in self.store.all(table):
                if other.id != record.id and tuple(_fold(other.values.get(c)) for c in key) == mine:
                    raise duplicate_key(f"{table.logical_name}_key{index + 1}", key)

    def _check_party(self, table: Table, record: Record) -> None:
        activity = record.lookups.get("activityid")
        if table.logical_name == "activityparty" and activity and activity[0] == "appointment":
            if record.values.get("participationtypemask") not in APPOINTMENT_PARTY_MASKS:
                # 0x80094006 ActivityPartyParticipationTypeMaskNotFound; the exact trigger is UNCONFIRMED (docs/dataverse-webapi.md#29-activityparty).
                raise ServiceError(
                    400,
                    "0x80094006",
                    f"The participation type mask {record.values.get('participationtypemask')} is not valid "
                    "for an appointment.",
                )


def _writable_table(table: Table, operation: str) -> None:
    if table.view_of is not None:
        # Writes through the activitypointer view fail in Dataverse; the exact code is UNCONFIRMED.
        raise invalid_argument(f"The '{operation}' method does not support entities of type '{table.logical_name}'.")


def _state_pair(table: Table, given: Mapping[str, object]) -> tuple[int, int]:
    assert table.states is not None
    state, status = given.get("statecode"), given.get("statuscode")
    if state is None and status is None:
        raise invalid_argument("statecode and statuscode cannot be null.")
    if state is None:
        assert isinstance(status, int)
        derived = table.states.state_of(status)
        assert derived is not None
        return derived, status
    assert isinstance(state, int)
    if status is None:
        return state, table.states.default_status(state)
    if status not in table.states.pairs.get(state, ()):
        raise invalid_argument(
            f"{status} is not a valid status code for state code {table.logical_name}State.{state} "
            f"on {table.logical_name}."
        )
    return state, int(status)  # type: ignore[call-overload]


def _derive(table: Table, values: dict[str, object], given: Mapping[str, object]) -> None:
    """Columns Dataverse computes: full names and an appointment's duration."""
    fullname = table.columns.get("fullname")
    if fullname is not None and not fullname.writable:
        parts = [values.get("firstname"), values.get("lastname")]
        values["fullname"] = " ".join(p for p in parts if isinstance(p, str) and p) or None
    if table.logical_name == "appointment" and "scheduleddurationminutes" not in given:
        start, end = values.get("scheduledstart"), values.get("scheduledend")
        if isinstance(start, str) and isinstance(end, str):
            fmt = "%Y-%m-%dT%H:%M:%SZ"
            minutes = (datetime.strptime(end, fmt) - datetime.strptime(start, fmt)).total_seconds() // 60
            values["scheduleddurationminutes"] = int(minutes)


def _fold(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value

"""Metadata the emulator enforces: columns, option sets, lookups, collections and keys.

Kept separate from the table list so the rules (what a column accepts, which navigation
property binds which lookup) read the same for every table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum


class Kind(str, Enum):
    STRING = "string"
    MEMO = "memo"
    INTEGER = "integer"
    BIGINT = "bigint"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    DATEONLY = "date"
    PICKLIST = "picklist"
    STATE = "state"
    STATUS = "status"
    GUID = "guid"


EDM_TYPES = {
    Kind.STRING: "Edm.String",
    Kind.MEMO: "Edm.String",
    Kind.INTEGER: "Edm.Int32",
    Kind.BIGINT: "Edm.Int64",
    Kind.DECIMAL: "Edm.Decimal",
    Kind.BOOLEAN: "Edm.Boolean",
    Kind.DATETIME: "Edm.DateTimeOffset",
    Kind.DATEONLY: "Edm.Date",
    Kind.PICKLIST: "Edm.Int32",
    Kind.STATE: "Edm.Int32",
    Kind.STATUS: "Edm.Int32",
    Kind.GUID: "Edm.Guid",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    max_length: int | None = None
    options: Mapping[int, str] = field(default_factory=dict)
    required: bool = False  # SystemRequired: a create without it fails
    writable: bool = True  # False for computed and system-maintained columns
    default: object = None


@dataclass(frozen=True)
class Lookup:
    """A lookup attribute and the single-valued navigation properties that set it."""

    attribute: str
    navigations: Mapping[str, str]  # navigation property (exact case) -> target logical name
    required: bool = False
    cascade_delete: bool = False  # deleting the target deletes the referencing row

    @property
    def value_property(self) -> str:
        return f"_{self.attribute}_value"


@dataclass(frozen=True)
class Collection:
    """A collection-valued navigation property: the rows of `child` whose `lookup` points here."""

    name: str
    child: str
    lookup: str
    deep_insert: bool = False  # accepted as a nested array on create, and as PUT-replace


@dataclass(frozen=True)
class StateModel:
    """Valid statecode -> statuscode pairs; the first status of each state is its default."""

    pairs: Mapping[int, tuple[int, ...]]

    def default_status(self, state: int) -> int:
        return self.pairs[state][0]

    def state_of(self, status: int) -> int | None:
        for state, statuses in self.pairs.items():
            if status in statuses:
                return state
        return None


@dataclass(frozen=True)
class Table:
    logical_name: str
    entity_set: str
    primary_key: str
    primary_name: str
    columns: Mapping[str, Column]
    lookups: Mapping[str, Lookup] = field(default_factory=dict)
    collections: Mapping[str, Collection] = field(default_factory=dict)
    keys: tuple[tuple[str, ...], ...] = ()
    states: StateModel | None = None
    view_of: str | None = None  # read-only view over another table (activitypointer)
    constants: Mapping[str, object] = field(default_factory=dict)  # read-only values on every row

    @property
    def type_name(self) -> str:
        return f"Microsoft.Dynamics.CRM.{self.logical_name}"

    def navigation(self, name: str) -> Lookup | None:
        """The lookup a single-valued navigation property sets (case-sensitive, as in Dataverse)."""
        for lookup in self.lookups.values():
            if name in lookup.navigations:
                return lookup
        return None

    def lookup_by_value_property(self, name: str) -> Lookup | None:
        if name.startswith("_") and name.endswith("_value"):
            return self.lookups.get(name[1:-6])
        return None

    def readable(self, name: str) -> bool:
        return (
            name == self.primary_key
            or name in self.columns
            or name in self.constants
            or self.lookup_by_value_property(name) is not None
        )

"""Who is calling, and which rows they reach: the emulator's small model of Dataverse security.

Dataverse decides access with security roles (privileges per table at user, business-unit,
parent-child or organization depth) plus sharing and teams. The emulator keeps one access
level per systemuser, set as emulator configuration (docs/emulator.md#tokens-and-record-level-security):

- ``organization``: every row of every table, read and write (application users by default);
- ``user``: read every organisation-owned row, and only the user-owned rows the user owns
  (``ownerid``); create rows of user-owned tables; write, delete and bind lookups to only the
  rows they can read or own;
- ``none``: no privilege at all (what a user or application user without a role gets).

A table with an ``ownerid`` lookup is user-owned; an activity party follows its activity;
every other table is organisation-owned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from emulators.dataverse.model.catalog import Catalog
from emulators.dataverse.model.schema import Table
from emulators.dataverse.model.service_errors import ServiceError
from emulators.dataverse.model.store import Record, Store
from emulators.dataverse.model.tables import OWNER

ACCESS_LEVELS = ("none", "user", "organization")
# Microsoft's troubleshooting page for Dataverse client errors: a missing privilege is
# -2147220960 (0x80040220, "Principal user is missing privilege ... on OTC for entity"); a privilege
# check that passed followed by a failed access check on the record is -2147187962 (0x80048306,
# "Principal with ID ... does not have ReadAccess right(s) for record with ID ... of entity ...").
# The HTTP status 403 for both is UNCONFIRMED.
PRIVILEGE_DENIED = "0x80040220"
ACCESS_CHECK_FAILED = "0x80048306"
# "The user is not a member of the organization." (code and status UNCONFIRMED, see the docs).
NOT_A_MEMBER = "0x80072560"
SYSTEMUSER_TYPE = 8  # ObjectTypeCode of systemuser, as in the service's access-check messages
ACCESS_RIGHTS = {"read": "ReadAccess", "write": "WriteAccess", "delete": "DeleteAccess", "create": "CreateAccess",
                 "appendto": "AppendToAccess"}
PRIVILEGE_PREFIX = {"read": "prvRead", "write": "prvWrite", "delete": "prvDelete", "create": "prvCreate",
                    "appendto": "prvAppendTo"}


@dataclass(frozen=True)
class Caller:
    """The systemuser a validated token maps to."""

    user_id: str
    kind: str  # "user" (delegated token, by oid) or "application" (app-only token, by client id)
    access: str  # one of ACCESS_LEVELS


class Access:
    """What one caller may reach. ``caller=None`` (``--auth none``) reaches everything."""

    def __init__(self, catalog: Catalog, store: Store, caller: Caller | None) -> None:
        self.catalog = catalog
        self.store = store
        self.caller = caller

    @property
    def unrestricted(self) -> bool:
        return self.caller is None or self.caller.access == "organization"

    @property
    def row_filter(self) -> Callable[[Table, Record], bool] | None:
        """`can_read`, or None when every row is readable (the caller then skips the check)."""
        return None if self.unrestricted else self.can_read

    def owner_of(self, table: Table, record: Record) -> str | None:
        """The owning systemuser of a user-owned row; None for an organisation-owned one."""
        if OWNER in table.lookups:
            owner = record.lookups.get(OWNER)
            return owner[1] if owner else ""
        if table.logical_name == "activityparty":
            activity = record.lookups.get("activityid")
            if activity is None:
                return None
            parent_table = self.catalog.table(activity[0])
            parent = self.store.get(parent_table, activity[1])
            return None if parent is None else self.owner_of(parent_table, parent)
        return None

    def can_read(self, table: Table, record: Record) -> bool:
        if self.unrestricted:
            return True
        assert self.caller is not None
        if self.caller.access == "none":
            return False
        owner = self.owner_of(table, record)
        return owner is None or owner == self.caller.user_id

    def visible(self, table: Table, records: Iterable[Record]) -> list[Record]:
        """The rows a query answers: the others are left out, as if they did not exist."""
        if self.unrestricted:
            return list(records)
        return [r for r in records if self.can_read(table, r)]

    def require_table(self, table: Table, right: str = "read") -> None:
        """A caller without any privilege on the table is refused before any row is looked at."""
        if self.caller is not None and self.caller.access == "none":
            raise self._missing_privilege(table, right)

    def require_read(self, table: Table, record: Record) -> None:
        self.require_table(table, "read")
        if not self.can_read(table, record):
            raise self._access_check_failed(table, record, "read")

    def require_append_to(self, table: Table, record: Record) -> None:
        """Binding a lookup to a row needs Append To on it: at user level, the rows one can read."""
        if not self.can_read(table, record):
            raise self._access_check_failed(table, record, "appendto")

    def require_write(self, table: Table, record: Record, right: str = "write") -> None:
        self.require_table(table, right)
        if self.unrestricted:
            return
        assert self.caller is not None
        owner = self.owner_of(table, record)
        if owner is None:  # organisation-owned rows: organization-level privileges only
            raise self._missing_privilege(table, right)
        if owner != self.caller.user_id:
            raise self._access_check_failed(table, record, right)

    def require_create(self, table: Table) -> None:
        self.require_table(table, "create")
        if self.unrestricted:
            return
        if not is_user_owned(table):
            raise self._missing_privilege(table, "create")

    def _missing_privilege(self, table: Table, right: str) -> ServiceError:
        assert self.caller is not None
        privilege = f"{PRIVILEGE_PREFIX[right]}{table.logical_name}"
        return ServiceError(
            403,
            PRIVILEGE_DENIED,
            f"Principal user (Id={self.caller.user_id}, type={SYSTEMUSER_TYPE}) is missing {privilege} privilege "
            f"for entity '{table.logical_name}'.",
        )

    def _access_check_failed(self, table: Table, record: Record, right: str) -> ServiceError:
        assert self.caller is not None
        return ServiceError(
            403,
            ACCESS_CHECK_FAILED,
            f"Principal user (Id={self.caller.user_id}, type={SYSTEMUSER_TYPE}) does not have {ACCESS_RIGHTS[right]} "
            f"right(s) for record with ID {record.id} of entity {table.logical_name}.",
        )


def is_user_owned(table: Table) -> bool:
    """Tables with an owner (and activity parties, which follow their activity)."""
    return OWNER in table.lookups or table.logical_name == "activityparty"


class Principals:
    """Token claims to systemusers, and the access level of each systemuser (emulator configuration)."""

    def __init__(self, catalog: Catalog, store: Store) -> None:
        self.catalog = catalog
        self.store = store
        self.levels: dict[str, str] = {}
        self._index: tuple[int, dict[tuple[str, str], Record]] | None = None

    def set_level(self, user_id: str, level: str) -> None:
        if level not in ACCESS_LEVELS:
            raise ValueError(f"access level must be one of {ACCESS_LEVELS}, not {level!r}")
        self.levels[user_id.lower()] = level

    def level_of(self, record: Record) -> str:
        default = "organization" if record.values.get("applicationid") else "user"
        return self.levels.get(record.id, default)

    def caller(self, claims: Mapping[str, object]) -> Caller:
        """The systemuser of a delegated token (`oid` = azureactivedirectoryobjectid) or of an
        app-only token (`appid`/`azp` = applicationid); raises the service's 403 when none matches."""
        delegated = "scp" in claims
        if delegated:
            column, value = "azureactivedirectoryobjectid", claims.get("oid")
        else:
            column, value = "applicationid", claims.get("appid") or claims.get("azp")
        record = self._lookup(column, str(value).lower()) if isinstance(value, str) else None
        if record is None:
            raise ServiceError(403, NOT_A_MEMBER, "The user is not a member of the organization.")
        if record.values.get("isdisabled"):
            raise ServiceError(
                403,
                NOT_A_MEMBER,
                f"The user with SystemUserId={record.id} is disabled. Disabled users cannot access the system.",
            )
        return Caller(record.id, "user" if delegated else "application", self.level_of(record))

    def _lookup(self, column: str, value: str) -> Record | None:
        table = self.catalog.table("systemuser")
        changes = self.store.changes(table)
        if self._index is None or self._index[0] != changes:
            index: dict[tuple[str, str], Record] = {}
            for record in self.store.all(table):
                for name in ("azureactivedirectoryobjectid", "applicationid"):
                    found = record.values.get(name)
                    if isinstance(found, str):
                        index[(name, found.lower())] = record
            self._index = (changes, index)
        return self._index[1].get((column, value))

"""Activity-party rows for appointments (attendees and organizer), as deep-insert shapes.

A party names its record through ``partyid_<logical name>@odata.bind``; the entity set is
usually the logical name plus ``s``, but not always, so callers may give both.
"""

from __future__ import annotations

import uuid
from typing import Any

from dataverse.odata import bind, column_name

REQUIRED = 5
OPTIONAL = 6
ORGANIZER = 7
PARTICIPATION_TYPES = frozenset({REQUIRED, OPTIONAL, ORGANIZER})

_ENTITY_SETS = {"systemuser": "systemusers", "contact": "contacts", "lead": "leads", "account": "accounts"}
_LOGICAL_NAMES = {v: k for k, v in _ENTITY_SETS.items()}


def party(entity: str, row_id: str | uuid.UUID, participation: int, *, entity_set: str | None = None) -> dict[str, Any]:
    """``{"partyid_<logical>@odata.bind": "/<set>(<id>)", "participationtypemask": n}``.

    ``entity`` is a logical name (``lead``) or an entity set (``leads``).
    """
    if participation not in PARTICIPATION_TYPES:
        raise ValueError("appointment parties are REQUIRED (5), OPTIONAL (6) or ORGANIZER (7)")
    logical = _LOGICAL_NAMES.get(entity, entity)
    target_set = entity_set or _ENTITY_SETS.get(logical) or f"{logical}s"
    return {
        f"partyid_{column_name(logical)}@odata.bind": bind(target_set, row_id),
        "participationtypemask": participation,
    }

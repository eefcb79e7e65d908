"""Deterministic Dataverse primary keys for what the booking system makes us create.

Keys derived from the source's own identifiers make every write repeatable: a redelivery,
a retry after an outage or two racing deliveries all address the same row.
"""

from __future__ import annotations

import uuid

NAMESPACE = uuid.UUID("a2192f99-b625-408b-baf8-5721c6b653c5")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def appointment_row_id(source: str, appointment_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{source}:appointment:{appointment_id}"))


def lead_row_id(source: str, email: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{source}:lead:{normalise_email(email)}"))

"""The app's storage account (``AzureWebJobsStorage``): tables, queues, blobs and blob leases.

``storage_client.connection`` (settings parsing) and ``storage_client.errors`` import only the
standard library; the names below load on first use (PEP 562), and the Azure SDK's ``.aio``
clients load only when a call is made, so an app without storage never imports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deferred_exports import deferred_exports

if TYPE_CHECKING:
    from storage_client.account import Container, Entity, Lease, Queue, StorageAccount, Table
    from storage_client.connection import StorageConnection, StorageSettingError, storage_connection
    from storage_client.errors import (
        AlreadyExists,
        ChangedSinceRead,
        LeaseLost,
        LeaseTaken,
        StorageError,
        StorageMisconfigured,
        StorageRefused,
        StorageUnavailable,
    )

_HOMES = {
    "StorageAccount": "storage_client.account",
    "Table": "storage_client.account",
    "Queue": "storage_client.account",
    "Container": "storage_client.account",
    "Entity": "storage_client.account",
    "Lease": "storage_client.account",
    "StorageConnection": "storage_client.connection",
    "StorageSettingError": "storage_client.connection",
    "storage_connection": "storage_client.connection",
    "StorageError": "storage_client.errors",
    "StorageUnavailable": "storage_client.errors",
    "StorageRefused": "storage_client.errors",
    "StorageMisconfigured": "storage_client.errors",
    "AlreadyExists": "storage_client.errors",
    "ChangedSinceRead": "storage_client.errors",
    "LeaseTaken": "storage_client.errors",
    "LeaseLost": "storage_client.errors",
}

__all__ = sorted(_HOMES)
__getattr__ = deferred_exports(__name__, _HOMES)

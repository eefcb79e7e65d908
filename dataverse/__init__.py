"""A thin, resilient async client for the Dataverse Web API (see docs/dataverse-client.md).

The names below load on first use (PEP 562), so importing a light submodule such as
``dataverse.errors`` does not import httpx: the HTTP layer maps these errors without
slowing the app's cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deferred_exports import deferred_exports

if TYPE_CHECKING:
    from dataverse.batch import BatchResult, ChangeSet
    from dataverse.client import DataverseClient, UpsertResult
    from dataverse.request_builders import Request
    from http_retry import RetryPolicy

_HOMES = {
    "BatchResult": "dataverse.batch",
    "ChangeSet": "dataverse.batch",
    "DataverseClient": "dataverse.client",
    "UpsertResult": "dataverse.client",
    "Request": "dataverse.request_builders",
    "RetryPolicy": "http_retry",
}

__all__ = sorted(_HOMES)
__getattr__ = deferred_exports(__name__, _HOMES)

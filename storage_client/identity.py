"""The async token credential for an identity-based storage connection (``azure.identity.aio``).

Like ``dataverse.auth``: inside Azure (``IDENTITY_ENDPOINT``/``MSI_ENDPOINT`` set) or with
``__credential=managedidentity``, the app's managed identity (a user-assigned one by client
id: ``__clientId``, else ``AZURE_CLIENT_ID``, filled in by the composition root); elsewhere
``DefaultAzureCredential`` (environment variables, then a developer login).
The storage SDK asks it for tokens for ``https://storage.azure.com/.default`` and caches them.

``transport`` options (``connection_verify``: a CA bundle) go to the credential's own HTTP
pipeline (aiohttp), so the token endpoint is trusted like the storage endpoints.
"""

from __future__ import annotations

import os
from typing import Any


def default_credential(client_id: str | None = None, *, managed_identity_only: bool = False, **transport: Any) -> Any:
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    in_azure = bool(os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT"))
    if managed_identity_only or in_azure:
        return (ManagedIdentityCredential(client_id=client_id, **transport) if client_id
                else ManagedIdentityCredential(**transport))
    if client_id:
        return DefaultAzureCredential(managed_identity_client_id=client_id, **transport)
    return DefaultAzureCredential(**transport)

"""Token caching and refresh, with fake credentials (no Entra ID on loopback)."""

import asyncio
import sys
import time
from types import SimpleNamespace

import pytest

from dataverse.auth import AzureIdentityAuth


class SyncCredential:
    def __init__(self, lifetime: float = 3600) -> None:
        self.calls: list[str] = []
        self.lifetime = lifetime

    def get_token(self, scope: str):
        self.calls.append(scope)
        time.sleep(0.01)
        return SimpleNamespace(token=f"token-{len(self.calls)}", expires_on=int(time.time() + self.lifetime))


class AsyncCredential(SyncCredential):
    async def get_token(self, scope: str):  # type: ignore[override]
        self.calls.append(scope)
        await asyncio.sleep(0)
        return SimpleNamespace(token=f"token-{len(self.calls)}", expires_on=int(time.time() + self.lifetime))


async def test_scope_caching_and_one_refresh_at_a_time():
    credential = SyncCredential()
    auth = AzureIdentityAuth("https://contoso.crm.dynamics.com/", credential)
    tokens = await asyncio.gather(*(auth.token() for _ in range(10)))
    assert tokens == ["token-1"] * 10
    assert credential.calls == ["https://contoso.crm.dynamics.com/.default"]
    assert await auth.token(force_refresh=True) == "token-2"
    assert await auth.token() == "token-2"


async def test_a_token_close_to_expiry_is_replaced():
    credential = AsyncCredential(lifetime=120)  # inside the 5-minute margin
    auth = AzureIdentityAuth("https://contoso.crm.dynamics.com", credential)
    assert await auth.token() == "token-1"
    assert await auth.token() == "token-2"


async def test_concurrent_forced_refreshes_fetch_once():
    credential = AsyncCredential()
    auth = AzureIdentityAuth("https://contoso.crm.dynamics.com", credential)
    await auth.token()
    await asyncio.gather(*(auth.token(force_refresh=True) for _ in range(5)))
    assert len(credential.calls) == 2


def test_azure_identity_is_not_imported_until_the_first_token():
    import subprocess

    code = (
        "import sys, dataverse, dataverse.auth;"
        "dataverse.auth.AzureIdentityAuth('https://x.crm.dynamics.com');"
        "print('azure.identity' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_credential_is_managed_identity_inside_azure(monkeypatch):
    from dataverse.auth import default_credential

    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi")
    monkeypatch.setenv("IDENTITY_HEADER", "x")
    assert type(default_credential()).__name__ == "ManagedIdentityCredential"
    monkeypatch.delenv("IDENTITY_ENDPOINT")
    monkeypatch.delenv("MSI_ENDPOINT", raising=False)
    assert type(default_credential()).__name__ == "DefaultAzureCredential"


async def test_a_failing_credential_is_unavailable_without_leaking_details():
    from dataverse.errors import Unavailable

    class Broken:
        def get_token(self, scope):
            raise RuntimeError("client secret abc123 rejected")

    auth = AzureIdentityAuth("https://contoso.crm.dynamics.com", Broken())
    with pytest.raises(Unavailable) as caught:
        await auth.token()
    assert "abc123" not in str(caught.value) and "abc123" not in repr(caught.value) and caught.value.retry_after

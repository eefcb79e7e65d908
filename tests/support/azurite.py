"""Azurite, the Azure Storage emulator (npm package pinned in ``tools/azurite``), for the tests.

:func:`running_azurite` starts one on free loopback ports, in memory, and stops it after; it
reads the ports Azurite chose from what it prints ("... successfully listening at
http://127.0.0.1:PORT"), so nothing guesses a free port. :func:`clean_account` empties the
account between tests (every container, queue and table deleted).

With ``tls`` (a CA and server certificate from ``tools/local_tls.py``) it serves https and
checks bearer tokens (``--oauth basic``, which Azurite allows over https only): a token's
``nbf``/``exp``, that its ``iss`` is one of Entra ID's (``https://sts.windows.net/...``) and its
``aud`` Azure Storage (``https://storage.azure.com``) or the service URL; not its signature.
The shared key keeps working alongside.

``make`` installs Azurite into ``tools/azurite/node_modules`` (``make azurite``); on CI a
missing Azurite fails the tests that need it, elsewhere it skips them with the command to run.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tests.support import ROOT

if TYPE_CHECKING:
    from tools.local_tls import TlsFiles

AZURITE = ROOT / "tools" / "azurite" / "node_modules" / ".bin" / "azurite"
ACCOUNT = "devstoreaccount1"
# Azurite's published development key (the same in every copy of Azurite; not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at (https?://\S+)")


@dataclass(frozen=True)
class Azurite:
    blob_endpoint: str
    queue_endpoint: str
    table_endpoint: str
    process: subprocess.Popen[str]
    ca_path: str | None = None
    """The CA that signed its https certificate (``None``: plain http)."""

    @property
    def connection_string(self) -> str:
        """An ``AzureWebJobsStorage`` value for this Azurite (explicit endpoints: its ports are not the defaults)."""
        protocol = "https" if self.ca_path else "http"
        return (
            f"DefaultEndpointsProtocol={protocol};AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};QueueEndpoint={self.queue_endpoint};"
            f"TableEndpoint={self.table_endpoint};"
        )


def azurite_missing_reason() -> str | None:
    """Why Azurite cannot start here, or None."""
    if not AZURITE.exists():
        return f"Azurite is not installed ({AZURITE.relative_to(ROOT)} missing): run `make azurite`"
    return None


def require_azurite() -> None:
    """Skip the test when Azurite is not installed; on CI (``CI=true``) fail it instead."""
    import pytest

    reason = azurite_missing_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; CI=true, so a missing Azurite is an error", pytrace=False)
        pytest.skip(reason)


@contextmanager
def running_azurite(timeout: float = 30.0, *, tls: TlsFiles | None = None) -> Iterator[Azurite]:
    """Azurite on three free loopback ports, in memory; stopped (and its memory gone) on exit.

    ``tls``: serve https with this certificate and accept Entra ID bearer tokens (``--oauth basic``).
    """
    https = ["--oauth", "basic", "--cert", str(tls.cert_path), "--key", str(tls.key_path)] if tls else []
    process = subprocess.Popen(
        [
            str(AZURITE), "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--disableTelemetry",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", "0", "--queuePort", "0", "--tablePort", "0", *https,
        ],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "AZURITE_ACCOUNTS": ""},
    )
    endpoints: dict[str, str] = {}
    ready = threading.Event()
    lines: list[str] = []

    def read() -> None:  # drains stdout for the whole run, so Azurite never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            if len(lines) < 200:
                lines.append(line)
            match = _LISTENING.search(line)
            if match:
                endpoints[match.group(1)] = f"{match.group(2).rstrip('/')}/{ACCOUNT}"
                if len(endpoints) == 3:
                    ready.set()
        ready.set()  # the process ended: stop waiting

    reader = threading.Thread(target=read, name="azurite-output", daemon=True)
    reader.start()
    try:
        if not ready.wait(timeout) or len(endpoints) < 3:
            raise AssertionError(f"Azurite did not start: {''.join(lines)[-2000:]}")
        yield Azurite(endpoints["Blob"], endpoints["Queue"], endpoints["Table"], process,
                      str(tls.ca_path) if tls else None)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)


def clean_account(azurite: Azurite) -> None:
    """Delete every container, queue and table of the account (synchronous SDK clients)."""
    from azure.data.tables import TableServiceClient
    from azure.storage.blob import BlobServiceClient
    from azure.storage.queue import QueueServiceClient

    blobs = BlobServiceClient.from_connection_string(azurite.connection_string)
    for container in blobs.list_containers():
        blobs.delete_container(container.name)
    queues = QueueServiceClient.from_connection_string(azurite.connection_string)
    for queue in queues.list_queues():
        queues.delete_queue(queue.name)
    tables = TableServiceClient.from_connection_string(azurite.connection_string)
    for table in tables.list_tables():
        tables.delete_table(table.name)

"""Azurite, the Azure Storage emulator (npm package pinned in ``tools/azurite``), for the tests.

:func:`running_azurite` starts one on free loopback ports, in memory, and stops it after; it
reads the ports Azurite chose from what it prints ("... successfully listening at
http://127.0.0.1:PORT"), so nothing guesses a free port. :func:`clean_account` empties the
account between tests (every container, queue and table deleted).

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

from tests.support import ROOT

AZURITE = ROOT / "tools" / "azurite" / "node_modules" / ".bin" / "azurite"
ACCOUNT = "devstoreaccount1"
# Azurite's published development key (the same in every copy of Azurite; not a secret).
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_LISTENING = re.compile(r"Azurite (Blob|Queue|Table) service is successfully listening at (http://\S+)")


@dataclass(frozen=True)
class Azurite:
    blob_endpoint: str
    queue_endpoint: str
    table_endpoint: str
    process: subprocess.Popen[str]

    @property
    def connection_string(self) -> str:
        """An ``AzureWebJobsStorage`` value for this Azurite (explicit endpoints: its ports are not the defaults)."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};QueueEndpoint={self.queue_endpoint};"
            f"TableEndpoint={self.table_endpoint};"
        )


def azurite_missing_reason() -> str | None:
    """Why Azurite cannot start here, or None."""
    if not AZURITE.exists():
        return f"Azurite is not installed ({AZURITE.relative_to(ROOT)} missing): run `make azurite`"
    return None


@contextmanager
def running_azurite(timeout: float = 30.0) -> Iterator[Azurite]:
    """Azurite on three free loopback ports, in memory; stopped (and its memory gone) on exit."""
    process = subprocess.Popen(
        [
            str(AZURITE), "--inMemoryPersistence", "--skipApiVersionCheck", "--loose", "--disableTelemetry",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", "0", "--queuePort", "0", "--tablePort", "0",
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
        yield Azurite(endpoints["Blob"], endpoints["Queue"], endpoints["Table"], process)
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

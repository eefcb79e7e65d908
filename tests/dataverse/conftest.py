"""A Dataverse client on the per-test emulator, with retries fast enough for tests."""

from __future__ import annotations

import httpx
import pytest

from dataverse import DataverseClient, RetryPolicy

FAST = RetryPolicy(max_attempts=3, max_total_wait=2.0, base_delay=0.01, max_delay=0.05)


@pytest.fixture
async def client(dataverse):
    async with DataverseClient(dataverse.url, retry=FAST, timeout=httpx.Timeout(5.0, connect=2.0)) as c:
        yield c

"""A Dataverse client on the per-test emulator, with retries fast enough for tests."""

from __future__ import annotations

import httpx
import pytest

from dataverse import DataverseClient
from tests.component.dataverse.quick import FAST


@pytest.fixture
async def client(dataverse):
    async with DataverseClient(dataverse.url, retry=FAST, timeout=httpx.Timeout(5.0, connect=2.0)) as c:
        yield c

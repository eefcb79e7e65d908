"""A Dataverse client with quick retries, for the schedule import tests that drive the flow directly."""

from __future__ import annotations

import pytest

from dataverse import DataverseClient
from tests.schedules.importing import FAST_RETRY


@pytest.fixture
async def client(dataverse):
    """A client with quick retries, for tests that drive the flow directly through an outage."""
    async with DataverseClient(dataverse.url, retry=FAST_RETRY) as c:
        yield c

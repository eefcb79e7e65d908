"""integration.clients: one pooled client per event loop and per settings (a changed setting, a fresh client)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from integration.clients import booking_client, dataverse_client
from integration.settings import Settings, load_settings
from tests.test_settings import VALID

LOCAL = {**VALID, "DATAVERSE_URL": "http://127.0.0.1:5555", "DATAVERSE_AUTH": "none"}


def settings(**changes: str) -> Settings:
    return load_settings({**LOCAL, **changes})


@pytest.fixture(autouse=True)
def no_azure_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """With DATAVERSE_AUTH none nothing may need azure.identity: importing it fails here."""
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    monkeypatch.setitem(sys.modules, "azure.identity.aio", None)


async def test_one_dataverse_client_per_loop_and_settings():
    first = dataverse_client(settings())
    assert dataverse_client(settings()) is first, "the same settings on the same loop share one client"
    assert first.environment_url == "http://127.0.0.1:5555" and first.transport.auth is None

    other = dataverse_client(settings(DATAVERSE_URL="http://127.0.0.1:5556"))
    assert other is not first and other.environment_url == "http://127.0.0.1:5556"
    assert dataverse_client(settings(DATAVERSE_URL="http://127.0.0.1:5556")) is other
    assert dataverse_client(settings()) is first, "the first client stays pooled"


async def test_one_booking_client_per_loop_and_settings():
    first = booking_client(settings())
    assert booking_client(settings()) is first

    moved = booking_client(settings(BOOKING_API_URL="https://api2.book.example.com/v1"))
    keyed = booking_client(settings(BOOKING_API_KEY="bk_test_0123456789abcdef"))
    assert len({id(first), id(moved), id(keyed)}) == 3
    assert booking_client(settings(BOOKING_API_KEY="bk_test_0123456789abcdef")) is keyed
    assert booking_client(settings()) is first


def test_a_new_event_loop_gets_new_clients():
    async def both() -> tuple[object, object]:
        return dataverse_client(settings()), booking_client(settings())

    first_dataverse, first_booking = asyncio.run(both())
    second_dataverse, second_booking = asyncio.run(both())
    assert second_dataverse is not first_dataverse, "an httpx client is bound to the loop it first ran on"
    assert second_booking is not first_booking


def test_the_dataverse_and_booking_pools_do_not_mix():
    async def both() -> tuple[object, object]:
        return dataverse_client(settings()), booking_client(settings())

    dataverse, booking = asyncio.run(both())
    assert type(dataverse).__name__ == "DataverseClient" and type(booking).__name__ == "BookingClient"

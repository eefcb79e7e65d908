"""entry.composition_root: settings read from the given mapping at each call; clients per event loop and per settings."""

from __future__ import annotations

import asyncio
import sys

import httpx
import pytest

from entry.composition_root import CompositionRoot
from integration.settings import SettingsError
from tests.support.settings import VALID

LOCAL = {**VALID, "DATAVERSE_URL": "http://127.0.0.1:5555", "DATAVERSE_AUTH": "none"}


@pytest.fixture(autouse=True)
def no_azure_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """With DATAVERSE_AUTH none nothing may need azure.identity: importing it fails here."""
    monkeypatch.setitem(sys.modules, "azure.identity", None)
    monkeypatch.setitem(sys.modules, "azure.identity.aio", None)


async def test_one_dataverse_client_per_loop_and_settings():
    environ = dict(LOCAL)
    root = CompositionRoot(environ)
    first = root.dependencies().dataverse
    assert root.dependencies().dataverse is first, "the same settings on the same loop share one client"
    assert first.environment_url == "http://127.0.0.1:5555" and first.transport.auth is None

    environ["DATAVERSE_URL"] = "http://127.0.0.1:5556"
    other = root.dependencies().dataverse
    assert other is not first and other.environment_url == "http://127.0.0.1:5556"
    assert root.dependencies().dataverse is other
    environ["DATAVERSE_URL"] = LOCAL["DATAVERSE_URL"]
    assert root.dependencies().dataverse is first, "the first client stays"


async def test_one_booking_client_per_loop_and_settings():
    environ = dict(LOCAL)
    root = CompositionRoot(environ)
    first = root.dependencies().booking
    assert root.dependencies().booking is first

    environ["BOOKING_API_URL"] = "https://api2.book.example.com/v1"
    moved = root.dependencies().booking
    environ.update(BOOKING_API_URL=LOCAL["BOOKING_API_URL"], BOOKING_API_KEY="bk_test_0123456789abcdef")
    keyed = root.dependencies().booking
    assert len({id(first), id(moved), id(keyed)}) == 3
    assert root.dependencies().booking is keyed
    del environ["BOOKING_API_KEY"]
    assert root.dependencies().booking is first


async def test_a_changed_setting_is_seen_by_the_next_call():
    environ = dict(LOCAL)
    root = CompositionRoot(environ)
    assert root.dependencies().settings.appointment_version_column is None
    environ["APPOINTMENT_VERSION_COLUMN"] = "new_bookingversion"
    assert root.dependencies().settings.appointment_version_column == "new_bookingversion"
    del environ["BOOKING_REDIRECT_URL"]
    with pytest.raises(SettingsError) as raised:
        root.dependencies()
    assert [p.name for p in raised.value.problems] == ["BOOKING_REDIRECT_URL"]


def test_a_new_event_loop_gets_new_clients():
    root = CompositionRoot(LOCAL)

    async def both() -> tuple[object, object]:
        dependencies = root.dependencies()
        return dependencies.dataverse, dependencies.booking

    first_dataverse, first_booking = asyncio.run(both())
    second_dataverse, second_booking = asyncio.run(both())
    assert second_dataverse is not first_dataverse, "an httpx client is bound to the loop it first ran on"
    assert second_booking is not first_booking


def test_two_roots_share_no_clients():
    async def clients(root: CompositionRoot) -> tuple[object, object]:
        dependencies = root.dependencies()
        return dependencies.dataverse, dependencies.booking

    async def both() -> None:
        one, other = await clients(CompositionRoot(LOCAL)), await clients(CompositionRoot(LOCAL))
        assert one[0] is not other[0] and one[1] is not other[1]
        assert type(one[0]).__name__ == "DataverseClient" and type(one[1]).__name__ == "BookingClient"

    asyncio.run(both())


async def test_client_options_reach_the_clients_and_aclose_closes_this_loops_clients(dataverse):
    seen: list[str] = []

    class Recording(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            seen.append(request.url.path)
            return await super().handle_async_request(request)

    root = CompositionRoot({**LOCAL, "DATAVERSE_URL": dataverse.url}, dataverse_options={"transport": Recording()})
    client = root.dependencies().dataverse
    await client.query_all("leads", select=["leadid"], top=1)
    assert seen == ["/api/data/v9.2/leads"] and dataverse.count(path="leads") == 1

    await root.aclose()
    assert root.dependencies().dataverse is not client, "a closed client is never handed out again"


async def test_storage_is_none_without_the_setting_and_one_account_per_loop_with_it():
    without = CompositionRoot(dict(LOCAL))
    assert without.dependencies().storage is None and not without.storage_configured()

    environ = {**LOCAL, "AzureWebJobsStorage": "UseDevelopmentStorage=true"}
    root = CompositionRoot(environ, storage_options={"timeout": 1.5})
    account = root.dependencies().storage
    assert account is not None and root.dependencies().storage is account
    assert account.connection.table_url == "http://127.0.0.1:10002/devstoreaccount1"
    assert root.storage_configured()

    await root.aclose()
    assert root.dependencies().storage is not account, "a closed account is never handed out again"
    await root.aclose()


def test_identity_storage_takes_the_apps_user_assigned_identity_and_needs_no_sdk_until_used():
    environ = {**LOCAL, "AzureWebJobsStorage__accountName": "contosofn", "AZURE_CLIENT_ID": "1f0e7a3c-4b5d-4e6f-8a9b-0c1d2e3f4a5b"}
    root = CompositionRoot(environ)

    async def account():  # azure.identity is blocked here: building the account must not need it
        return root.dependencies().storage

    built = asyncio.run(account())
    assert built.connection.uses_identity
    assert built.connection.managed_identity_client_id == "1f0e7a3c-4b5d-4e6f-8a9b-0c1d2e3f4a5b"
    assert CompositionRoot({**LOCAL, "AzureWebJobsStorage__accountName": "Bad Name"}).storage_configured(), \
        "a malformed setting is still 'set': the functions that need it register and report it"

"""Client edge cases the emulator cannot produce, with respx: odd bodies, resets, token refresh."""

import time
from types import SimpleNamespace

import httpx
import pytest
import respx

from dataverse import DataverseClient, RetryPolicy, errors
from dataverse.auth import AzureIdentityAuth

URL = "https://contoso.crm.dynamics.com"
API = URL + "/api/data/v9.2/"
ID = "6f9619ff-8b86-d011-b42d-00c04fc964ff"
FAST = RetryPolicy(max_attempts=3, max_total_wait=1.0, base_delay=0.001, max_delay=0.002)


class Credential:
    def __init__(self) -> None:
        self.issued = 0

    async def get_token(self, scope: str):
        self.issued += 1
        return SimpleNamespace(token=f"t{self.issued}", expires_on=int(time.time() + 3600))


@pytest.fixture
def mock():
    with respx.mock(base_url=API, assert_all_called=False) as router:
        yield router


@pytest.mark.parametrize(
    ("status", "content", "cls"),
    [
        (500, b"<html>Internal Server Error</html>", errors.Unavailable),
        (400, b'{"error": "not an object"}', errors.BadRequest),
        (404, b"", errors.NotFound),
        (403, b'{"error":{"code":"0x80040220"', errors.Forbidden),
    ],
)
async def test_malformed_error_bodies_still_give_typed_errors(mock, status, content, cls):
    mock.get(f"leads({ID})").respond(status, content=content, headers={"x-ms-service-request-id": "svc-1"})
    async with DataverseClient(URL, retry=FAST) as client:
        with pytest.raises(cls) as caught:
            await client.retrieve("leads", ID)
    assert caught.value.status == status and caught.value.service_request_id == "svc-1"
    assert caught.value.client_request_id


async def test_a_connection_reset_mid_response_is_retried_for_reads(mock):
    route = mock.get(f"leads({ID})")
    route.side_effect = [httpx.RemoteProtocolError("peer closed connection"), httpx.Response(200, json={"leadid": ID})]
    async with DataverseClient(URL, retry=FAST) as client:
        assert (await client.retrieve("leads", ID))["leadid"] == ID
    assert route.call_count == 2


async def test_a_connection_reset_is_not_retried_for_a_plain_create(mock):
    route = mock.post("leads").mock(side_effect=httpx.ReadError("connection reset by peer"))
    async with DataverseClient(URL, retry=FAST) as client:
        with pytest.raises(errors.Unavailable) as caught:
            await client.create("leads", {"lastname": "x"})
    assert route.call_count == 1, "the create may have happened; retrying could duplicate it"
    assert caught.value.retry_after is not None


async def test_a_refused_connection_is_retried_even_for_a_create(mock):
    route = mock.post("leads")
    route.side_effect = [
        httpx.ConnectError("refused"),
        httpx.Response(204, headers={"OData-EntityId": f"{API}leads({ID})"}),
    ]
    async with DataverseClient(URL, retry=FAST) as client:
        assert await client.create("leads", {"lastname": "x"}) == ID
    assert route.call_count == 2


async def test_a_401_forces_one_token_refresh_and_one_retry(mock):
    credential = Credential()
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(401 if len(seen) == 1 else 200, json={"value": []})

    mock.get("leads").mock(side_effect=answer)
    async with DataverseClient(URL, auth=AzureIdentityAuth(URL, credential), retry=FAST) as client:
        assert await client.query_all("leads") == []
    assert seen == ["Bearer t1", "Bearer t2"]


async def test_a_second_401_is_unauthorized(mock):
    credential = Credential()
    route = mock.get("leads").respond(401, json={"error": {"code": "0x80072560", "message": "no"}})
    async with DataverseClient(URL, auth=AzureIdentityAuth(URL, credential), retry=FAST) as client:
        with pytest.raises(errors.Unauthorized) as caught:
            await client.query_all("leads")
    assert route.call_count == 2 and credential.issued == 2
    assert "t2" not in repr(caught.value) and "Bearer" not in str(caught.value)


async def test_no_authorization_header_without_auth(mock):
    route = mock.get("leads").respond(200, json={"value": []})
    async with DataverseClient(URL) as client:
        await client.query_all("leads")
    sent = route.calls.last.request
    assert "Authorization" not in sent.headers
    assert sent.headers["OData-Version"] == "4.0" and sent.headers["Accept"] == "application/json"
    assert len(sent.headers["x-ms-client-request-id"]) == 36


async def test_a_foreign_next_link_is_not_followed(mock):
    mock.get("leads").respond(200, json={"value": [{"a": 1}], "@odata.nextLink": "https://evil.example/api/data/v9.2/leads?p=2"})
    async with DataverseClient(URL) as client:
        with pytest.raises(errors.DataverseError, match="outside"):
            await client.query_all("leads")


async def test_a_repeating_next_link_stops(mock):
    link = API + "leads?$skiptoken=same"
    mock.get("leads").mock(side_effect=lambda req: httpx.Response(200, json={"value": [{"a": 1}], "@odata.nextLink": link}))
    async with DataverseClient(URL) as client:
        with pytest.raises(errors.DataverseError, match="repeats"):
            await client.query_all("leads")


async def test_the_dop_hint_sets_the_concurrency_limit(mock):
    mock.get("leads").respond(200, json={"value": []}, headers={"x-ms-dop-hint": "4"})
    mock.get("contacts").respond(200, json={"value": []}, headers={"x-ms-dop-hint": "48"})
    async with DataverseClient(URL) as client:
        assert client.parallelism == 5  # before any hint
        await client.query_all("leads")
        assert client.parallelism == 4
        await client.query_all("contacts")
        assert client.parallelism == 48

"""Every operation and every error type over real HTTP against the Dataverse emulator."""

from __future__ import annotations

import uuid

import httpx
import pytest

from dataverse import DataverseClient, RetryPolicy, errors, odata
from dataverse.activity_parties import ORGANIZER, REQUIRED, party
from tests.component.dataverse.quick import FAST
from tests.support.polling import wait_until_async


async def test_create_and_retrieve(client, dataverse):
    lead_id = await client.create("leads", {"subject": "Booking", "lastname": "O'Brien", "emailaddress1": "a@example.com"})
    assert odata.is_guid(lead_id)
    assert dataverse.row("leads", lead_id)["lastname"] == "O'Brien"
    row = await client.retrieve("leads", lead_id, select=["lastname", "subject"])
    assert row["lastname"] == "O'Brien" and row["leadid"] == lead_id and "@odata.etag" in row
    assert dataverse.count(method="POST") == 1 and dataverse.count(method="GET") == 1


async def test_retrieve_missing_row_is_not_found(client):
    with pytest.raises(errors.NotFound) as caught:
        await client.retrieve("leads", uuid.uuid4())
    assert caught.value.status == 404 and caught.value.code == "0x80040217"


async def test_retrieve_by_alternate_key(client, dataverse):
    contact_id = dataverse.insert("contacts", {"lastname": "Diaz", "emailaddress1": "ana.diaz@example.com"})
    row = await client.retrieve("contacts", {"emailaddress1": "ana.diaz@example.com"}, select=["lastname"])
    assert row["contactid"] == contact_id
    with pytest.raises(errors.NotFound):
        await client.retrieve("contacts", {"emailaddress1": "nobody@example.com"})


async def test_a_key_dataverse_cannot_hold_is_refused_before_any_request(client, dataverse):
    with pytest.raises(ValueError):
        await client.retrieve("contacts", {"emailaddress1": "ana+tag@example.com"})
    assert dataverse.count() == 0


async def test_update_changes_a_row_and_never_creates_one(client, dataverse):
    lead_id = dataverse.insert("leads", {"subject": "old", "lastname": "x"})
    await client.update("leads", lead_id, {"subject": "new"})
    assert dataverse.row("leads", lead_id)["subject"] == "new"
    missing = str(uuid.uuid4())
    with pytest.raises(errors.NotFound):
        await client.update("leads", missing, {"subject": "new"})
    assert dataverse.row("leads", missing) is None


async def test_update_with_a_stale_etag_is_a_version_mismatch(client, dataverse):
    lead_id = dataverse.insert("leads", {"subject": "v1", "lastname": "x"})
    etag = (await client.retrieve("leads", lead_id, select=["subject"]))["@odata.etag"]
    await client.update("leads", lead_id, {"subject": "v2"}, if_match=etag)
    with pytest.raises(errors.VersionMismatch):
        await client.update("leads", lead_id, {"subject": "v3"}, if_match=etag)
    assert dataverse.row("leads", lead_id)["subject"] == "v2"


async def test_upsert_creates_then_updates(client, dataverse):
    row_id = str(uuid.uuid4())
    created = await client.upsert("leads", row_id, {"subject": "one", "lastname": "x"}, return_row=True)
    assert created.created is True and created.row["subject"] == "one"
    updated = await client.upsert("leads", row_id, {"subject": "two"}, return_row=True)
    assert updated.created is False and updated.row["subject"] == "two"
    plain = await client.upsert("leads", row_id, {"subject": "three"})
    assert plain.created is None and dataverse.row("leads", row_id)["subject"] == "three"


async def test_upsert_only_create_and_only_update(client, dataverse):
    row_id = dataverse.insert("leads", {"subject": "exists", "lastname": "x"})
    with pytest.raises(errors.PreconditionFailed):
        await client.upsert("leads", row_id, {"subject": "again"}, only="create")
    missing = str(uuid.uuid4())
    with pytest.raises(errors.NotFound):
        await client.upsert("leads", missing, {"subject": "x"}, only="update")
    assert dataverse.row("leads", missing) is None and dataverse.row("leads", row_id)["subject"] == "exists"


async def test_upsert_by_alternate_key(client, dataverse):
    result = await client.upsert("contacts", {"emailaddress1": "new@example.com"}, {"lastname": "New"}, return_row=True)
    assert result.created is True
    rows = [r for r in dataverse.rows("contacts") if r.get("emailaddress1") == "new@example.com"]
    assert len(rows) == 1 and rows[0]["lastname"] == "New"


async def test_create_with_a_taken_primary_key_is_a_duplicate(client, dataverse):
    row_id = dataverse.insert("leads", {"lastname": "x"})
    with pytest.raises(errors.Duplicate):
        await client.create("leads", {"leadid": row_id, "lastname": "y"}, primary_key="leadid")


async def test_delete(client, dataverse):
    row_id = dataverse.insert("leads", {"lastname": "x"})
    await client.delete("leads", row_id)
    assert dataverse.row("leads", row_id) is None
    with pytest.raises(errors.NotFound):
        await client.delete("leads", row_id)


async def test_bad_requests_are_bad_request(client):
    with pytest.raises(errors.BadRequest):
        await client.create("leads", {"no_such_column": 1})
    with pytest.raises(errors.BadRequest):
        await client.query_all("leads", select=["no_such_column"])


async def test_unknown_entity_set_is_not_found(client):
    with pytest.raises(errors.NotFound):
        await client.query_all("Leads")


async def test_query_pages_follow_next_links(client, dataverse):
    for i in range(25):
        dataverse.insert("leads", {"lastname": f"n{i:02d}", "subject": "paged"})
    dataverse.insert("leads", {"lastname": "other", "subject": "not paged"})
    pages = [
        page
        async for page in client.query_pages(
            "leads", select=["lastname"], filter=f"subject eq {odata.literal('paged')}", orderby="lastname asc", page_size=10
        )
    ]
    assert [len(p) for p in pages] == [10, 10, 5]
    assert [r["lastname"] for p in pages for r in p] == [f"n{i:02d}" for i in range(25)]
    assert dataverse.count(method="GET") == 3


async def test_query_escapes_quotes_and_honours_top(client, dataverse):
    dataverse.insert("leads", {"lastname": "O'Brien"})
    dataverse.insert("leads", {"lastname": "Brien"})
    rows = await client.query_all("leads", select=["lastname"], filter=f"lastname eq {odata.literal(chr(39) + ' or 1 eq 1 or lastname eq ' + chr(39))}")
    assert rows == []
    rows = await client.query_all("leads", select=["lastname"], filter=f"lastname eq {odata.literal('O' + chr(39) + 'Brien')}")
    assert [r["lastname"] for r in rows] == ["O'Brien"]
    assert len(await client.query_all("leads", top=1)) == 1
    assert [r async for r in client.query("leads", filter="lastname eq 'Brien'")][0]["lastname"] == "Brien"


async def test_set_state(client, dataverse):
    appointment = await client.create(
        "appointments", {"subject": "s", "scheduledstart": "2026-01-20T15:00:00Z", "scheduledend": "2026-01-20T15:30:00Z"}
    )
    await client.set_state("appointments", appointment, statecode=2, statuscode=4)
    row = dataverse.row("appointments", appointment)
    assert (row["statecode"], row["statuscode"]) == (2, 4)


async def test_appointment_with_activity_parties(client, dataverse):
    lead_id = dataverse.insert("leads", {"lastname": "x"})
    user_id = dataverse.insert("systemusers", {"internalemailaddress": "advisor@bank.example", "lastname": "A"})
    appointment = await client.create(
        "appointments",
        {
            "subject": "Consultation",
            "scheduledstart": "2026-01-20T20:00:00Z",
            "scheduledend": "2026-01-20T20:30:00Z",
            "regardingobjectid_lead_appointment@odata.bind": odata.bind("leads", lead_id),
            "appointment_activity_parties": [party("lead", lead_id, REQUIRED), party("systemuser", user_id, ORGANIZER)],
        },
    )
    parties = {(p["_partyid_value"], p["participationtypemask"]) for p in dataverse.rows("activityparties")
               if p.get("_activityid_value") == appointment}
    assert {(lead_id, 5), (user_id, 7)} <= parties


async def test_throttling_is_retried_after_retry_after(client, dataverse):
    dataverse.faults.throttle(1, retry_after=0)
    assert len(await client.query_all("leads")) == len(dataverse.rows("leads"))
    assert dataverse.count(method="GET") == 2


async def test_throttling_is_retried_even_for_a_plain_create(client, dataverse):
    dataverse.faults.throttle(1, retry_after=0)
    lead_id = await client.create("leads", {"lastname": "x"})
    assert dataverse.count(method="POST") == 2 and dataverse.row("leads", lead_id) is not None


async def test_throttling_beyond_the_budget_raises_with_retry_after(dataverse):
    dataverse.faults.throttle(5, retry_after=30)
    async with DataverseClient(dataverse.url, retry=FAST) as client:
        with pytest.raises(errors.Throttled) as caught:
            await client.query_all("leads")
    assert caught.value.retry_after == 30 and caught.value.status == 429
    assert dataverse.count(method="GET") == 1, "no point waiting 30 s inside a 2 s budget"


async def test_outages_are_retried_for_idempotent_requests_only(client, dataverse):
    dataverse.faults.fail(1, status=503)
    own_id = str(uuid.uuid4())
    assert await client.create("leads", {"leadid": own_id, "lastname": "x"}, primary_key="leadid") == own_id
    assert dataverse.count(method="POST") == 2
    dataverse.faults.fail(1, status=503)
    with pytest.raises(errors.Unavailable) as caught:
        await client.create("leads", {"lastname": "no key"})
    assert caught.value.status == 503 and caught.value.retry_after is not None
    assert dataverse.count(method="POST") == 3


async def test_a_lasting_outage_gives_unavailable_after_max_attempts(client, dataverse):
    dataverse.faults.fail(10, status=502)
    with pytest.raises(errors.Unavailable) as caught:
        await client.retrieve("leads", uuid.uuid4())
    assert dataverse.count(method="GET") == FAST.max_attempts
    assert caught.value.retry_after is not None


async def test_a_hang_gives_timeout(dataverse):
    dataverse.faults.hang(1, seconds=1)
    async with DataverseClient(
        dataverse.url, retry=RetryPolicy(max_attempts=1), timeout=httpx.Timeout(0.3, connect=1.0)
    ) as client:
        with pytest.raises(errors.Timeout) as caught:
            await client.query_all("leads")
    assert isinstance(caught.value, errors.Unavailable) and caught.value.retry_after is not None


async def test_a_hang_on_a_read_is_retried(dataverse):
    dataverse.faults.hang(1, seconds=1)
    async with DataverseClient(dataverse.url, retry=FAST, timeout=httpx.Timeout(0.3, connect=1.0)) as client:
        assert isinstance(await client.query_all("leads"), list)


async def test_the_budget_counts_time_spent_hanging_not_only_waits(dataverse):
    """A hang that already used the budget is not retried: the caller gets Timeout (504), not minutes later."""
    dataverse.faults.hang(3, seconds=0.6)
    policy = RetryPolicy(max_attempts=5, max_total_wait=0.3, base_delay=0.01, max_delay=0.05)
    async with DataverseClient(dataverse.url, retry=policy, timeout=httpx.Timeout(0.4, connect=1.0)) as client:
        with pytest.raises(errors.Timeout):
            await client.query_all("leads")
    # Every attempt takes a hang as it arrives; the client sent all of them before it gave up.
    assert dataverse.faults.pending() == 2, "one attempt, no retry"
    # The emulator logs a hung request once its hang ends.
    await wait_until_async(lambda: dataverse.count(method="GET", path="/leads"), what="the hung GET in the log")
    assert dataverse.count(method="GET", path="/leads") == 1


async def test_headers_on_the_wire_and_one_client_request_id_per_call(client, dataverse):
    dataverse.faults.throttle(1, retry_after=0)
    await client.query_all("leads", page_size=7)
    first, retry = [e for e in dataverse.requests if e.headers.get("prefer") == "odata.maxpagesize=7"]
    assert (first.status, retry.status) == (429, 200)
    assert first.headers["x-ms-client-request-id"] == retry.headers["x-ms-client-request-id"]
    assert first.headers["odata-version"] == "4.0" and first.headers["odata-maxversion"] == "4.0"
    assert first.headers["prefer"] == "odata.maxpagesize=7" and "authorization" not in first.headers
    await client.query_all("leads", page_size=8)
    (other,) = [e for e in dataverse.requests if e.headers.get("prefer") == "odata.maxpagesize=8"]
    assert other.headers["x-ms-client-request-id"] != first.headers["x-ms-client-request-id"]


async def test_a_key_with_an_apostrophe_and_at_sign_reaches_the_service_intact(client, dataverse):
    contact_id = dataverse.insert("contacts", {"lastname": "O'Hara", "emailaddress1": "o'hara@example.com"})
    row = await client.retrieve("contacts", {"emailaddress1": "o'hara@example.com"})
    assert row["contactid"] == contact_id
    assert any("emailaddress1='o''hara@example.com'" in e.path for e in dataverse.requests)

"""The control surface: faults, latency, the request log, seeding and thread safety (docs/dataverse-webapi.md#7-service-protection, #9-other-headers, #1210-throttling)."""

from __future__ import annotations

import threading

import httpx
import pytest

from emulators.dataverse import DataverseEmulator, ServiceError
from emulators.dataverse.model.tables import BOOKING_SETUP_METADATA_ID
from tests.component.emulator.web_api import created_id, error_of
from tests.support import loopback


@pytest.mark.parametrize("code", ["0x80072322", "0x80072321", "0x80072326"])
def test_throttle_answers_429_with_retry_after(api, dataverse, code):
    """docs/dataverse-webapi.md#7-service-protection, #1210-throttling: 429, Retry-After in seconds, the service-protection code; then normal service."""
    dataverse.faults.throttle(2, retry_after=3, code=code)
    for _ in range(2):
        response = api.get("leads")
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "3"
        assert error_of(response)["code"] == code
    assert api.get("leads").status_code == 200


def test_fail_answers_the_given_status(api, dataverse):
    """docs/dataverse-webapi.md#82-status-codes: a scripted 5xx with a Dataverse error body; the write does not happen."""
    dataverse.faults.fail(1, status=502)
    response = api.post("leads", json={"firstname": "A"})
    assert response.status_code == 502
    error_of(response)
    assert dataverse.rows("leads") == []


def test_faults_can_target_a_method_and_path(api, dataverse):
    """Controls: a fault waits for the first request that matches it."""
    dataverse.faults.fail(1, status=503, method="POST", path="appointments")
    assert api.get("appointments").status_code == 200
    assert api.post("leads", json={}).status_code == 204
    assert api.post("appointments", json={}).status_code == 503
    assert api.post("appointments", json={}).status_code == 204


def test_reset_connection_drops_without_an_answer(api, dataverse):
    """Controls: the client sees a transport error, and the log records no status."""
    dataverse.faults.reset_connection(1)
    with pytest.raises(httpx.TransportError):
        api.get("leads")
    assert dataverse.requests[-1].status is None
    assert api.get("leads").status_code == 200


def test_hang_outlasts_the_client_timeout(api, dataverse):
    """Controls: a hanging request makes the client time out; reset() releases it."""
    dataverse.faults.hang(1, seconds=30)
    with pytest.raises(httpx.ReadTimeout):
        api.get("leads", timeout=0.3)
    dataverse.reset()
    assert api.get("leads").status_code == 200


def test_latency_is_added_and_reset(api, dataverse):
    """Controls: latency is settable and reset() clears it."""
    dataverse.latency = 0.01
    assert dataverse.latency == 0.01
    assert api.get("leads").status_code == 200
    dataverse.reset()
    assert dataverse.latency == 0.0
    with pytest.raises(ValueError):
        dataverse.latency = -1


def test_request_log_and_count(api, dataverse):
    """Controls: method, path, query, headers and status of each API request."""
    api.get("leads", params={"$select": "firstname"}, headers={"x-ms-client-request-id": "abc"})
    api.post("leads", json={"firstname": "A"})
    api.get("Leads")
    log = dataverse.requests
    assert [(e.method, e.path, e.status) for e in log] == [
        ("GET", "/api/data/v9.2/leads", 200), ("POST", "/api/data/v9.2/leads", 204), ("GET", "/api/data/v9.2/Leads", 404),
    ]
    assert log[0].query == "$select=firstname" and log[0].headers["x-ms-client-request-id"] == "abc"
    assert log[1].json() == {"firstname": "A"}
    assert dataverse.count() == 3 and dataverse.count("GET") == 2 and dataverse.count(path="leads") == 2
    dataverse.clear_log()
    assert dataverse.count() == 0


def test_insert_rows_row_and_reset(dataverse):
    """Controls: insert validates like a create; reset restores the seed (booking setup metadata)."""
    lead = dataverse.insert("leads", {"firstname": "A"})
    assert dataverse.row("leads", lead)["firstname"] == "A"
    assert dataverse.row("leads", "not-a-guid") is None
    with pytest.raises(ServiceError) as failure:
        dataverse.insert("leads", {"nickname": "x"})
    assert failure.value.status == 400
    dataverse.faults.throttle(5)
    dataverse.reset()
    assert dataverse.rows("leads") == [] and dataverse.faults.pending() == 0
    assert [r["msdyn_bookingsetupmetadataid"] for r in dataverse.rows("msdyn_bookingsetupmetadatas")] == [BOOKING_SETUP_METADATA_ID]


def test_controls_are_thread_safe_with_the_server(api, dataverse):
    """Controls: inserts from several threads while HTTP creates run lose nothing."""
    def insert_many(prefix: str) -> None:
        for i in range(25):
            dataverse.insert("leads", {"firstname": f"{prefix}{i}"})

    threads = [threading.Thread(target=insert_many, args=(p,)) for p in "abc"]
    for thread in threads:
        thread.start()
    for i in range(25):
        created_id(api.post("leads", json={"firstname": f"http{i}"}))
    for thread in threads:
        thread.join()
    assert len(dataverse.rows("leads")) == 100


def test_demo_seed_and_start_stop():
    """Brief: seed_demo=True gives leads, contacts, agents and booking statuses; stop() frees the port."""
    with DataverseEmulator(seed_demo=True) as emulator:
        users = emulator.rows("systemusers")
        assert all(u["internalemailaddress"] for u in users) and len(users) >= 2
        assert emulator.rows("leads") and emulator.rows("contacts")
        assert {s["name"] for s in emulator.rows("bookingstatuses")} >= {"Committed", "Proposed", "Canceled"}
        url = emulator.url
        assert loopback.get(f"{url}/api/data/v9.2/leads").status_code == 200
    with pytest.raises(httpx.ConnectError):
        loopback.get(f"{url}/api/data/v9.2/leads")


def test_only_loopback_addresses_are_served():
    """Brief: servers bind to 127.0.0.1 only."""
    with pytest.raises(ValueError):
        DataverseEmulator().start(host="0.0.0.0")

"""The emulator as its own process: CLI options, admin controls over HTTP, the data file (docs/emulator.md#running-it, docs/dataverse-webapi.md#12-emulator-checklist)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, loopback
from tests.support.processes import free_port, start_dataverse_emulator, stop_process


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("emulator") / "rows.json"


@pytest.fixture(scope="module")
def server(data_file) -> Iterator[str]:
    port = free_port()
    process = start_dataverse_emulator(port, "--data", str(data_file), "--seed-demo")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def test_index_lists_tables_and_counts(server):
    """Brief: /_emulator/ lists the tables and their row counts (HTML, or JSON on request)."""
    page = loopback.get(f"{server}/_emulator/")
    assert page.status_code == 200 and "bookableresourcebookings" in page.text and "/_emulator/timeline/leads/" in page.text
    counts = loopback.get(f"{server}/_emulator/", headers={"Accept": "application/json"}).json()["tables"]
    assert counts["leads"] >= 2 and counts["msdyn_bookingsetupmetadatas"] == 1


def test_http_controls(server):
    """Brief: the control API over HTTP: rows, faults, latency, count, requests, reset."""
    admin = f"{server}/_emulator"
    api = f"{server}/api/data/v9.2"
    with loopback.client(timeout=5) as client:
        assert client.delete(f"{admin}/requests").status_code == 204
        new_id = client.post(f"{admin}/rows/leads", json={"firstname": "Zed"}).json()["id"]
        assert client.get(f"{admin}/rows/leads/{new_id}").json()["firstname"] == "Zed"
        assert client.post(f"{admin}/rows/leads", json={"nickname": "x"}).status_code == 400
        assert client.post(f"{admin}/faults/throttle", json={"n": 1, "retry_after": 2}).json() == {"pending": 1}
        throttled = client.get(f"{api}/leads")
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "2"
        assert client.post(f"{admin}/faults/fail", json={"n": 1, "status": 504}).status_code == 200
        assert client.get(f"{api}/leads").status_code == 504
        client.post(f"{admin}/faults/reset_connection", json={})
        with pytest.raises(httpx.TransportError):
            client.get(f"{api}/leads")
        assert client.post(f"{admin}/faults/hang", json={"n": 1, "seconds": 0.01}).status_code == 200
        assert client.get(f"{api}/leads").status_code == 200
        assert client.post(f"{admin}/faults/throttle", json={"n": "lots"}).status_code == 400
        assert client.put(f"{admin}/latency", json={"seconds": 0.001}).json() == {"seconds": 0.001}
        assert client.get(f"{admin}/count", params={"method": "GET", "path": "leads"}).json() == {"count": 4}
        log = client.get(f"{admin}/requests").json()["requests"]
        assert [entry["status"] for entry in log] == [429, 504, None, 200]
        assert client.get(f"{admin}/nosuch").status_code == 404


def test_rows_survive_a_restart_with_the_data_file(server, data_file):
    """Brief: --data FILE keeps rows across restarts."""
    created = loopback.post(f"{server}/api/data/v9.2/contacts", json={"emailaddress1": "keep@example.com"})
    assert created.status_code == 204
    port = free_port()
    second = start_dataverse_emulator(port, "--data", str(data_file))
    try:
        found = loopback.get(f"http://127.0.0.1:{port}/api/data/v9.2/contacts(emailaddress1='keep@example.com')")
        assert found.status_code == 200
    finally:
        stop_process(second)


def test_reset_over_http_restores_the_demo_seed(server):
    """Brief: POST /_emulator/reset puts the seed back."""
    loopback.post(f"{server}/api/data/v9.2/leads", json={"firstname": "Temp"})
    assert loopback.post(f"{server}/_emulator/reset").status_code == 204
    names = [r["firstname"] for r in loopback.get(f"{server}/_emulator/rows/leads").json()["value"]]
    assert "Temp" not in names and "Ana" in names


def test_a_damaged_data_file_is_named_without_a_traceback(tmp_path):
    """--data: a file that is not the emulator's JSON stops start-up with a message saying what to do."""
    damaged = tmp_path / "rows.json"
    damaged.write_text("{broken")
    done = subprocess.run(
        [sys.executable, "-m", "emulators.dataverse", "--port", "0", "--data", str(damaged)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert str(damaged) in done.stderr and "delete it" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_cost_model_is_switched_on_from_the_command_line():
    port = free_port()
    process = start_dataverse_emulator(port, "--cost-model", "standard", "--time-compression", "50", "--dop-hint", "3")
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/api/data/v9.2/systemusers", timeout=10)
        state = httpx.get(f"http://127.0.0.1:{port}/_emulator/cost-model", timeout=10).json()
    finally:
        stop_process(process)
    assert answer.status_code == 200 and answer.headers["x-ms-dop-hint"] == "3"
    assert state["enabled"] and state["time_compression"] == 50 and state["ledger"]["requests"] == 1

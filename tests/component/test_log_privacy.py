"""No personal data or secret in the logs of any flow (docs/spec.md#2-http-api), checked per flow at DEBUG.

Each test drives one flow through its success and failure paths with the customer's or
agent's details in play, then scans every record caplog saw with the same scanner as the
session-wide plugin (tests/log_privacy_plugin.py), so a failure names the flow.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest

from tests.log_privacy_plugin import LeakScanner, secrets_in_sources
from tests.support import ROOT, loopback
from tests.support.apphost import serving_app
from tests.support.booking import clean_sandbox, running_sandbox
from tests.support.handlers import app_handler, booked, webhook_request
from tests.support.settings import WEBHOOK_SECRET, sample_schedule, settings_for
from tests.support.webhooks import event, signed_headers

API_KEY = "privacy-suite-api-key-5d1e"  # test-only
SAMPLE = sample_schedule()
CUSTOMER = {"firstname": "Ana", "lastname": "Diaz", "emailaddress1": "ana@example.com", "telephone1": "+15555550100"}


@pytest.fixture
def scanner() -> LeakScanner:
    return LeakScanner(secrets_in_sources() | {WEBHOOK_SECRET, API_KEY})


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_no_leaks(flow: str, caplog: pytest.LogCaptureFixture, scanner: LeakScanner) -> None:
    ours = [r for r in caplog.records if r.name.split(".")[0] in ("integration", "dataverse", "booking_client", "entra_client", "http_api")]
    assert ours, f"{flow}: the flow logged nothing, so the scan proves nothing"
    leaks = scanner.leaks(caplog.records, flow)
    assert not leaks, "\n".join(map(str, leaks))


@pytest.fixture(scope="module")
def booking_sandbox() -> Iterator[Any]:
    with running_sandbox(API_KEY) as sandbox:
        yield sandbox


@pytest.fixture
def session_env(app_settings: dict[str, str], booking_sandbox: Any) -> Any:
    clean_sandbox(booking_sandbox, api_key=API_KEY)
    app_settings.update(settings_for(app_settings["DATAVERSE_URL"], booking_sandbox, api_key=API_KEY))
    return booking_sandbox


async def test_booking_sessions_log_no_customer_data(dataverse, session_env, app_root, debug_logs, scanner) -> None:
    create_booking_session = app_handler(app_root, "create_booking_session")
    redirect_to_booking = app_handler(app_root, "redirect_to_booking")
    lead = dataverse.insert("leads", CUSTOMER)

    async def post(body: dict[str, Any]) -> int:
        req = func.HttpRequest("POST", "/api/booking-sessions", body=json.dumps(body).encode())
        return (await create_booking_session(req)).status_code

    regarding = {"regarding": {"entity": "lead", "id": lead}}
    assert await post(regarding) == 201
    redirect = await redirect_to_booking(func.HttpRequest("GET", "/api/x", body=b"", params={"entity": "lead", "id": lead}))
    assert redirect.status_code == 302
    session_env.fail_next(1, "reject400")
    assert await post(regarding) == 502
    session_env.fail_next(1, "garbage")
    await booked(app_root, "apt_1", "lead", lead)  # a reschedule of the lead's own appointment (another key)
    assert await post({**regarding, "appointmentId": "apt_1"}) == 502
    dataverse.faults.fail(10, status=503, retry_after=30)
    assert await post(regarding) == 503
    dataverse.faults.clear()
    assert await post({"regarding": {"entity": "lead", "id": "00000000-0000-0000-0000-000000000001"}}) == 404
    assert await post({"regarding": {"entity": "lead", "id": "ana@example.com"}, "customer": CUSTOMER}) == 400

    assert_no_leaks("booking sessions", debug_logs, scanner)


async def test_the_appointment_webhook_logs_no_customer_data(app_settings, app_root, dataverse, debug_logs, scanner):
    appointment_webhook = app_handler(app_root, "appointment_webhook")
    app_settings["APPOINTMENT_VERSION_COLUMN"] = "new_bookingversion"
    dataverse.insert("systemusers", {"firstname": "Ada", "lastname": "Advisor", "internalemailaddress": "advisor@bank.example"})

    async def deliver(body: Any, headers: dict[str, str] | None = None) -> int:
        return (await appointment_webhook(webhook_request(body, headers))).status_code

    created = event(customer={"firstName": "Ana", "lastName": "O'Brien", "email": "ana@example.com", "phone": "+15555550100"},
                    staff={"email": "advisor@bank.example"})
    assert await deliver(created) == 200
    assert await deliver(event(type_="appointment.updated", updatedAt="2026-01-16T00:00:00Z", subject="Ana Diaz, remortgage")) == 200
    assert await deliver(created) == 200  # stale
    raw = json.dumps(created).encode()
    assert await deliver(raw, {**signed_headers(raw), "webhook-signature": "v1,AAAA"}) == 401
    assert await deliver(raw, signed_headers(raw, secret="whsec_b3RoZXItd2ViaG9vay1zZWNyZXQtYWJjZGVm")) == 401
    broken = copy.deepcopy(created)
    broken["data"]["end"] = "ana@example.com"
    broken["data"]["customer"]["email"] = "not an email +15555550199"
    assert await deliver(broken) == 400
    dataverse.faults.throttle(10, retry_after=30)
    assert await deliver(event("apt_2", customer={"firstName": "Carla", "email": "carla@example.com"})) == 503

    assert_no_leaks("appointment webhook", debug_logs, scanner)


async def test_the_schedule_import_logs_no_agent_data(app_root, dataverse, debug_logs, scanner) -> None:
    import_schedules = app_handler(app_root, "import_schedules")
    dataverse.insert("systemusers", {"internalemailaddress": "a.smith@contoso.com", "fullname": "Alex Smith"})

    async def run(document: Any) -> int:
        body = json.dumps(document).encode()
        return (await import_schedules(func.HttpRequest("POST", "/api/schedules/import", body=body))).status_code

    assert await run(SAMPLE) == 200  # Sam Lee has no user: skipped and reported
    invalid = copy.deepcopy(SAMPLE)
    invalid["agents"][0]["email"] = "Alex Smith <a.smith@contoso.com>"
    invalid["agents"][1]["segments"][0]["end"] = "s.lee@contoso.com"
    assert await run(invalid) == 400
    dataverse.faults.fail(20, status=503, retry_after=0, method="POST")
    changed = copy.deepcopy(SAMPLE)
    changed["agents"][0]["segments"][0]["activity"] = "Phone - Outbound"
    assert await run(changed) == 503

    assert_no_leaks("schedule import", debug_logs, scanner)


def test_the_devhost_logs_no_function_key(app_settings, debug_logs, scanner) -> None:
    with serving_app(app_settings) as host:
        scanner.add_secrets([host.keys.master_key, *host.keys.host_keys.values()])
        key = host.keys.default_key
        assert loopback.post(f"{host.url}/api/schedules/import?code={key}", content=b"{").status_code == 400
        assert loopback.post(f"{host.url}/api/schedules/import?code=wrong-key-0123456789", content=b"{").status_code == 401
        assert loopback.get(f"{host.url}/api/nowhere?code={key}&email=ana@example.com").status_code == 404

    assert any(r.name == "devhost.requests" for r in debug_logs.records)
    assert_no_leaks("devhost", debug_logs, scanner)


def test_the_session_plugin_fails_a_run_whose_logs_leak(tmp_path: Path) -> None:
    """The plugin itself: a run whose tests pass but whose logs hold an email or a known secret fails, naming the tests."""
    (tmp_path / "test_leaky.py").write_text(textwrap.dedent(f"""
        import logging
        def test_clean():
            logging.getLogger("integration.x").info("lead %s created", "5b1f0c1e")
        def test_email():
            logging.getLogger("integration.x").debug("customer %s", "ana@example.com")
        def test_secret():
            logging.getLogger("dataverse").warning("oops %s", {WEBHOOK_SECRET[6:]!r})
    """))
    args = [sys.executable, "-m", "pytest", "-q", "-p", "tests.log_privacy_plugin", "--rootdir", str(tmp_path),
            "-p", "no:cacheprovider", str(tmp_path)]

    # Only the plugin under test: loading every installed pytest plugin would take most of the run.
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    leaky = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)

    assert leaky.returncode == 1, leaky.stdout[-2000:]
    assert "3 passed" in leaky.stdout  # the tests pass; the logs fail the run
    report = leaky.stdout[leaky.stdout.index("personal data or secrets in logs"):]
    assert "test_leaky.py::test_email: DEBUG integration.x: email" in report
    assert "test_leaky.py::test_secret: WARNING dataverse: secret" in report
    assert "test_clean" not in report
    assert "ana@example.com" not in leaky.stdout  # the report masks what it found

"""`make run` (tools/run_stack.py): settings on first run, and the whole stack up and down together."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys

import pytest

from tests.support import ROOT, loopback
from tests.support.processes import free_port, wait_until_answering

sys.path.insert(0, str(ROOT / "tools"))

import run_stack  # noqa: E402


def test_local_settings_are_created_from_the_example_once(tmp_path):
    target = tmp_path / "local.settings.json"
    assert run_stack.ensure_local_settings(target) is True
    assert target.read_text() == (ROOT / "local.settings.json.example").read_text()
    target.write_text('{"Values": {"MINE": "kept"}}')
    assert run_stack.ensure_local_settings(target) is False
    assert "kept" in target.read_text()


def test_the_booking_sandbox_signs_with_the_apps_secret_and_the_app_points_at_the_stack(tmp_path):
    args = run_stack.parse_args(["--port", "7100", "--dataverse-port", "7101", "--booking-port", "7102",
                                 "--run-dir", str(tmp_path)])
    dataverse, booking, app = run_stack.services(args, {"BOOKING_WEBHOOK_SECRET": "whsec_abc", "BOOKING_API_KEY": "k"})
    assert booking.argv[booking.argv.index("--webhook-secret") + 1] == "whsec_abc"
    assert booking.argv[booking.argv.index("--webhook-url") + 1] == "http://127.0.0.1:7100/api/webhooks/appointments"
    assert app.env["DATAVERSE_URL"] == "http://127.0.0.1:7101" and app.env["DATAVERSE_AUTH"] == "none"
    assert app.env["BOOKING_API_URL"] == "http://127.0.0.1:7102/api"
    assert "--seed-demo" in dataverse.argv


@pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in ("emulators.dataverse.__main__", "emulators.booking.__main__")),
    reason="the emulators' command lines are not there yet")
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_stack_starts_answers_and_stops_together(tmp_path, stop_signal):
    ports = {"--port": free_port(), "--dataverse-port": free_port(), "--booking-port": free_port()}
    argv = [sys.executable, str(ROOT / "tools" / "run_stack.py"), "--settings", str(tmp_path / "local.settings.json"),
            "--run-dir", str(tmp_path / "run"), *[str(x) for pair in ports.items() for x in pair]]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    app = f"http://127.0.0.1:{ports['--port']}"
    dataverse = f"http://127.0.0.1:{ports['--dataverse-port']}"
    try:
        wait_until_answering(f"{app}/api/health", process, timeout=60, ready=lambda answer: answer.status_code == 200)
        leads = loopback.get(f"{dataverse}/api/data/v9.2/leads", params={"$select": "leadid,fullname"}).json()["value"]
        assert leads, "--seed-demo gives demo leads"
        key = json.loads((tmp_path / "run" / "keys.json").read_text())["hostKeys"]["default"]
        redirect = loopback.get(f"{app}/api/booking-sessions/redirect",
                             params={"entity": "lead", "id": leads[0]["leadid"], "code": key})
        assert redirect.status_code == 302
        assert redirect.headers["location"].startswith(f"http://127.0.0.1:{ports['--booking-port']}/book?session=")
    finally:
        process.send_signal(stop_signal)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert f"/api/booking-sessions/redirect?entity=lead&id={leads[0]['leadid']}" in output
    assert f"{dataverse}/_emulator/timeline/leads/{leads[0]['leadid']}" in output
    assert "INFO httpx: HTTP Request" not in output  # request URLs (OData filters with emails) stay out of the log
    for port in ports.values():
        assert not run_stack.port_in_use(port), f"port {port} still served after {stop_signal.name}"

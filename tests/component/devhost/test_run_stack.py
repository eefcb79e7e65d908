"""`make run` (tools/run_stack.py): settings on first run, and the whole stack up and down together."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import ssl
import subprocess
import sys

import httpx
import pytest

from tests.support import ROOT, loopback
from tests.support.polling import wait_until
from tests.support.processes import free_port, wait_until_answering

sys.path.insert(0, str(ROOT / "tools"))

import run_stack  # noqa: E402

from storage_client.connection import DEVELOPMENT_KEY  # noqa: E402


def test_local_settings_are_created_from_the_example_once(tmp_path):
    target = tmp_path / "local.settings.json"
    assert run_stack.ensure_local_settings(target) is True
    assert target.read_text() == (ROOT / "local.settings.json.example").read_text()
    target.write_text('{"Values": {"MINE": "kept"}}')
    assert run_stack.ensure_local_settings(target) is False
    assert "kept" in target.read_text()


def test_the_app_points_at_the_stack_and_reaches_dataverse_with_its_managed_identity(tmp_path):
    args = run_stack.parse_args(["--port", "7100", "--dataverse-port", "7101", "--booking-port", "7102",
                                 "--identity-port", "7103", "--azurite-port", "0", "--run-dir", str(tmp_path)])
    identity, dataverse, booking, azurite, app = run_stack.services(args, {"BOOKING_WEBHOOK_SECRET": "whsec_abc",
                                                                           "BOOKING_API_KEY": "k"})
    assert booking.argv[booking.argv.index("--webhook-secret") + 1] == "whsec_abc"
    assert booking.argv[booking.argv.index("--webhook-url") + 1] == "http://127.0.0.1:7100/api/webhooks/appointments"
    assert app.env["DATAVERSE_URL"] == "http://127.0.0.1:7101" and app.env["DATAVERSE_AUTH"] == "azure"
    assert app.env["IDENTITY_ENDPOINT"] == "https://127.0.0.1:7103/msi/token"
    assert app.env["SSL_CERT_FILE"] == app.env["REQUESTS_CA_BUNDLE"] == str(tmp_path / "identity" / "ca.pem")
    assert app.env["BOOKING_API_URL"] == "http://127.0.0.1:7102/api"
    assert app.env["SESSION_AUTH"] == "entra" and app.env["ENTRA_AUTHORITY"] == identity.url
    assert "--seed-demo" in dataverse.argv
    assert azurite.argv[azurite.argv.index("--location") + 1] == str(tmp_path / "azurite")
    assert "--skipApiVersionCheck" in azurite.argv and "--inMemoryPersistence" not in azurite.argv
    blob, queue, table = (azurite.argv[azurite.argv.index(f"--{s}Port") + 1] for s in ("blob", "queue", "table"))
    assert str(azurite.port) == blob and azurite.also_ports == (int(queue), int(table))
    # Storage by the managed identity, as a production app's settings: service URIs, no key, no connection string.
    assert {k: v for k, v in app.env.items() if k.startswith("AzureWebJobsStorage")} == {
        "AzureWebJobsStorage": "",  # set, so local.settings.json's UseDevelopmentStorage=true is not applied
        "AzureWebJobsStorage__blobServiceUri": f"https://127.0.0.1:{blob}/devstoreaccount1",
        "AzureWebJobsStorage__queueServiceUri": f"https://127.0.0.1:{queue}/devstoreaccount1",
        "AzureWebJobsStorage__tableServiceUri": f"https://127.0.0.1:{table}/devstoreaccount1",
        "AzureWebJobsStorage__credential": "managedidentity"}
    assert not any(DEVELOPMENT_KEY in value or "AccountKey" in value for value in app.env.values())
    assert "--azure-storage" in identity.argv and azurite.ca_path == identity.ca_path
    assert azurite.argv[azurite.argv.index("--oauth") + 1] == "basic"
    assert azurite.argv[azurite.argv.index("--cert") + 1] == str(tmp_path / "identity" / "server.pem")
    assert dataverse.argv[dataverse.argv.index("--auth") + 1] == "entra"
    assert dataverse.argv[dataverse.argv.index("--authority-ca") + 1] == str(identity.ca_path)
    keyed = run_stack.services(run_stack.parse_args(["--session-auth", "key", "--run-dir", str(tmp_path)]), {})[-1]
    assert keyed.env["SESSION_AUTH"] == "key" and "ENTRA_CLIENT_ID" not in keyed.env


def test_azurite_never_gets_a_port_a_client_connection_holds():
    """A client's end of a connection is invisible to a connect probe, yet Azurite could not bind it."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server, \
            socket.create_connection(server.getsockname()) as client:
        held = client.getsockname()[1]  # an even port on Linux, next to the odd ones free_port() gives
        assert not run_stack.port_in_use(held)
        assert held not in run_stack.azurite_ports(held - 1)
        assert held not in run_stack.azurite_ports(held)


def read_until(process: subprocess.Popen, marker: str) -> str:
    """The stack's output up to the first line containing ``marker`` (or all of it, should it stop)."""
    assert process.stdout is not None
    lines: list[str] = []
    for line in process.stdout:
        lines.append(line)
        if marker in line:
            break
    return "".join(lines)


def start_stack(tmp_path, *options: str) -> tuple[subprocess.Popen, dict[str, int]]:
    ports = {"--port": free_port(), "--dataverse-port": free_port(), "--booking-port": free_port(),
             "--identity-port": free_port()}
    # Azurite's three ports are picked by run_stack (0): a free port's neighbour is not free for long
    # on a busy machine (client connections take even ports, free ones are odd).
    argv = [sys.executable, str(ROOT / "tools" / "run_stack.py"), "--settings", str(tmp_path / "local.settings.json"),
            "--run-dir", str(tmp_path / "run"), *[str(x) for pair in ports.items() for x in pair],
            "--azurite-port", "0", *options]
    process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return process, ports


def stop_stack(process: subprocess.Popen, stop_signal: int, ports: dict[str, int], printed: str = "") -> str:
    """Stop the stack; ``printed``: what was read from it already, shown should it have ended on its own."""
    process.send_signal(stop_signal)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, printed + output
    for port in ports.values():
        assert not run_stack.port_in_use(port), f"port {port} still served after {signal.Signals(stop_signal).name}"
    return output


needs_emulators = pytest.mark.skipif(
    not all(importlib.util.find_spec(m) for m in
            ("emulators.dataverse.__main__", "emulators.booking.__main__", "emulators.identity.__main__")),
    reason="the emulators' command lines are not there yet")


@needs_emulators
def test_the_stack_serves_entra_users_and_reaches_dataverse_as_its_managed_identity(tmp_path):
    """Ctrl-C stops it; the printed command gets the owner's token and starts a session (201)."""
    process, ports = start_stack(tmp_path)
    app = f"http://127.0.0.1:{ports['--port']}"
    dataverse = f"http://127.0.0.1:{ports['--dataverse-port']}"
    identity = f"https://127.0.0.1:{ports['--identity-port']}"
    ca_path = tmp_path / "run" / "identity" / "ca.pem"
    printed = ""
    try:
        printed = read_until(process, "Import a WEM schedule")
        health = loopback.get(f"{app}/api/health")
        assert health.status_code == 200, printed
        storage = health.json()["storage"]
        assert {k: storage.get(k) for k in ("configured", "reachable", "credentialsAccepted", "usable")} == {
            "configured": True, "reachable": True, "credentialsAccepted": True, "usable": True}
        app_environment = devhost_environment(process)
        [command] = [line.strip() for line in printed.splitlines() if line.strip().startswith("TOKEN=")]
        owner_lead = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
        outsider_lead = subprocess.run(["bash", "-c", command.replace("owner@", "outsider@")],
                                       capture_output=True, text=True, timeout=60)

        with httpx.Client(verify=ssl.create_default_context(cafile=str(ca_path)), timeout=10) as tls:
            managed = [m for m in tls.get(f"{identity}/_identity/").json()["managed_identities"]
                       if m["system_assigned"]]
        [application_user] = [row["systemuserid"] for row in
                              loopback.get(f"{dataverse}/_emulator/rows/systemusers").json()["value"]
                              if row.get("applicationid") == managed[0]["client_id"]]
        as_app_before = loopback.get(f"{dataverse}/_emulator/count", params={"caller": application_user}).json()
        key = json.loads((tmp_path / "run" / "keys.json").read_text())["hostKeys"]["default"]
        sample = sorted((ROOT / "samples" / "schedules").glob("*.json"))[0]
        imported = loopback.post(f"{app}/api/schedules/import", content=sample.read_bytes(), timeout=30,
                                 headers={"x-functions-key": key, "content-type": "application/json"})
        as_app_after = loopback.get(f"{dataverse}/_emulator/count", params={"caller": application_user}).json()
        # The same import as a job: the HTTP function queues it, the devhost's queue trigger runs it,
        # both reaching Azurite with the managed identity's tokens.
        submitted = loopback.post(f"{app}/api/schedules/import", content=sample.read_bytes(), timeout=30,
                                  headers={"x-functions-key": key, "content-type": "application/json",
                                           "prefer": "respond-async"})
        job = wait_until(lambda: job_done(f"{app}{submitted.headers.get('location', '/none')}", key), seconds=60,
                         interval=0.5, what="the import job to finish") if submitted.status_code == 202 else {}
        with httpx.Client(verify=ssl.create_default_context(cafile=str(ca_path)), timeout=10) as tls:
            token_requests = tls.get(f"{identity}/_identity/requests").json()["requests"]
    finally:
        output = printed + stop_stack(process, signal.SIGINT, ports, printed)
    assert f"Entra ID stand-in {identity}/_identity/" in output and str(ca_path) in output
    assert owner_lead.stdout.strip().endswith("201"), owner_lead.stdout + owner_lead.stderr
    assert "sessionId" in owner_lead.stdout
    assert outsider_lead.stdout.strip().endswith("404"), outsider_lead.stdout + outsider_lead.stderr
    assert imported.status_code == 200, imported.text
    assert as_app_after["count"] > as_app_before["count"]  # the import read and wrote as the managed identity
    assert "INFO httpx: HTTP Request" not in output  # request URLs (OData filters with emails) stay out of the log
    assert submitted.status_code == 202, submitted.text
    assert job["status"] == "succeeded", job
    storage_tokens = [r for r in token_requests if r["endpoint"] == "managed_identity"
                      and r["extra"].get("resource") == "https://storage.azure.com"]
    assert storage_tokens and all(r["status"] == 200 for r in storage_tokens)
    # The app never had the account key: only the banner shows one, for the developer's own tools.
    assert app_environment["AzureWebJobsStorage__credential"] == "managedidentity"
    assert app_environment["AzureWebJobsStorage"] == ""
    assert not [name for name, value in app_environment.items() if DEVELOPMENT_KEY in value or "AccountKey=" in value]
    assert "AzureWebJobsStorage: identity (managed identity)" in output  # the devhost's queue listeners
    [explorer] = [line.strip() for line in output.splitlines() if "AccountKey=" in line]
    assert explorer.startswith("DefaultEndpointsProtocol=https;") and DEVELOPMENT_KEY in explorer


def devhost_environment(stack: subprocess.Popen) -> dict[str, str]:
    """The environment the devhost process (a child of run_stack) runs with, read from /proc."""
    from pathlib import Path

    children = Path(f"/proc/{stack.pid}/task/{stack.pid}/children").read_text().split()
    for pid in children:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"devhost" in argv:
            raw = Path(f"/proc/{pid}/environ").read_bytes()
            return dict(entry.decode().partition("=")[::2] for entry in raw.split(b"\0") if entry)
    raise AssertionError(f"no devhost among run_stack's children {children}")


def job_done(status_url: str, key: str) -> dict | None:
    answer = loopback.get(status_url, headers={"x-functions-key": key}).json()
    return answer if answer.get("status") in ("succeeded", "failed") else None


@needs_emulators
def test_with_function_keys_the_redirect_links_work_and_sigterm_stops_the_stack(tmp_path):
    process, ports = start_stack(tmp_path, "--session-auth", "key")
    app = f"http://127.0.0.1:{ports['--port']}"
    dataverse = f"http://127.0.0.1:{ports['--dataverse-port']}"
    try:
        wait_until_answering(f"{app}/api/health", process, timeout=60, ready=lambda answer: answer.status_code == 200)
        leads = loopback.get(f"{dataverse}/_emulator/rows/leads").json()["value"]
        assert leads, "--seed-demo gives demo leads"
        key = json.loads((tmp_path / "run" / "keys.json").read_text())["hostKeys"]["default"]
        redirect = loopback.get(f"{app}/api/booking-sessions/redirect",
                                params={"entity": "lead", "id": leads[0]["leadid"], "code": key})
        assert redirect.status_code == 302
        assert redirect.headers["location"].startswith(f"http://127.0.0.1:{ports['--booking-port']}/book?session=")
    finally:
        output = stop_stack(process, signal.SIGTERM, ports)
    assert f"/api/booking-sessions/redirect?entity=lead&id={leads[0]['leadid']}" in output
    assert f"{dataverse}/_emulator/timeline/leads/{leads[0]['leadid']}" in output

"""`python -m emulators.dataverse --auth entra`: the secured emulator as its own process."""

from __future__ import annotations

import subprocess
import sys

import httpx
import msal

from tests.support import ROOT
from tests.support.processes import free_port, start_dataverse_emulator, stop_process


def test_the_process_checks_tokens_of_its_authority(identity):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    resource = identity.add_app("Dataverse (process)", identifier_uris=[url], app_roles=["Data.ReadWrite"],
                           access_token_version=1)
    daemon = identity.add_app("Process daemon", application_grants={resource.client_id: ["Data.ReadWrite"]})
    client = msal.ConfidentialClientApplication(daemon.client_id, client_credential=daemon.add_secret(),
                                                authority=identity.authority(), instance_discovery=False)
    token = client.acquire_token_for_client([f"{url}/.default"])["access_token"]
    process = start_dataverse_emulator(port, "--auth", "entra", "--authority", identity.authority(), "--authority-ca", str(identity.ca_path))
    try:
        created = httpx.post(f"{url}/_emulator/rows/systemusers",
                             json={"applicationid": daemon.client_id, "fullname": "Process daemon"})
        assert created.status_code == 201
        refused = httpx.get(f"{url}/api/data/v9.2/WhoAmI")
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith(f"Bearer authorization_uri={identity.authority()}/oauth2/authorize")
        answered = httpx.get(f"{url}/api/data/v9.2/WhoAmI", headers={"Authorization": f"Bearer {token}"})
        assert answered.status_code == 200 and answered.json()["UserId"] == created.json()["id"]
        levels = httpx.get(f"{url}/_emulator/access-levels").json()["levels"]
        assert levels[created.json()["id"]] == "organization"
    finally:
        stop_process(process)
    first_line = process.stdout.read().decode().splitlines()[0]
    assert first_line.startswith(f"Dataverse emulator on {url}")


def test_entra_mode_needs_an_authority():
    result = subprocess.run([sys.executable, "-m", "emulators.dataverse", "--port", "0", "--auth", "entra"],
                            check=False, cwd=ROOT, capture_output=True, timeout=60)
    assert result.returncode == 2 and b"--auth entra needs --authority" in result.stderr

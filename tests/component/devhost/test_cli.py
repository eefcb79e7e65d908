"""`python -m devhost` as its own process: port and values from local.settings.json, keys file, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

from tests.component.devhost.sample_app import write_sample_app
from tests.support import ROOT, loopback
from tests.support.processes import free_port, wait_until_answering


def test_serves_the_app_with_settings_port_and_generated_keys(tmp_path):
    app_dir = write_sample_app(tmp_path / "app")
    port = free_port()
    (app_dir / "local.settings.json").write_text(json.dumps({
        "IsEncrypted": False, "Values": {"DEVHOST_CLI_A": "file", "DEVHOST_CLI_B": "file"},
        "Host": {"LocalHttpPort": port}}))
    env = {**os.environ, "DEVHOST_CLI_B": "env", "PYTHONPATH": str(ROOT)}
    env.pop("DEVHOST_CLI_A", None)
    process = subprocess.Popen([sys.executable, "-m", "devhost", "--app-dir", str(app_dir)], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answering(f"{base}/api/items/1", process)
        seen = loopback.get(f"{base}/api/settings", params={"names": "DEVHOST_CLI_A,DEVHOST_CLI_B"}).json()
        assert seen == {"DEVHOST_CLI_A": "file", "DEVHOST_CLI_B": "env"}
        keys = json.loads((app_dir / ".run" / "keys.json").read_text())
        assert loopback.get(f"{base}/api/other").status_code == 401
        assert loopback.get(f"{base}/api/other", params={"code": keys["hostKeys"]["default"]}).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    # uvicorn shuts down cleanly, then re-raises the SIGINT it caught (exit status 130 in a shell).
    assert process.returncode in (0, -signal.SIGINT)
    assert "Application shutdown complete" in stderr
    assert "GET other api/other 200" in stderr
    assert keys["hostKeys"]["default"] not in stderr and keys["masterKey"] not in stderr


def test_an_app_folder_without_function_app_is_a_clear_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "devhost", "--app-dir", str(tmp_path), "--port", "0",
                             "--keys", str(tmp_path / "keys.json")],
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "function_app.py not found" in result.stderr and "Traceback" not in result.stderr


def test_runs_queue_functions_with_the_server_and_a_shortened_hide(tmp_path, azurite):
    from azure.storage.queue import QueueClient, TextBase64EncodePolicy

    from tests.component.devhost.queue_app import records, write_queue_app
    from tests.support.polling import wait_until

    app_dir = write_queue_app(tmp_path / "app")
    queue = QueueClient.from_connection_string(azurite.connection_string, "work",
                                               message_encode_policy=TextBase64EncodePolicy())
    queue.create_queue()
    queue.send_message("from the command line")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AzureWebJobsStorage": azurite.connection_string,
           "JobsStorage": azurite.connection_string}
    process = subprocess.Popen([sys.executable, "-m", "devhost", "--app-dir", str(app_dir), "--port", str(port),
                                "--queue-visibility-seconds", "3"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: records(app_dir, "work"), seconds=15, what="the message delivered")
        wait_until(lambda: queue.get_queue_properties().approximate_message_count == 0, what="deleted")
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=15)
    assert [r["body"] for r in records(app_dir, "work")] == ["from the command line"]
    assert "work: queue work (" in stderr and "hide 3 s" in stderr
    assert "Application shutdown complete" in stderr
    assert "Request URL" not in stderr  # the storage SDK's request log stays off


def test_a_hide_outside_its_bounds_stops_the_start(tmp_path):
    from tests.component.devhost.queue_app import write_queue_app

    app_dir = write_queue_app(tmp_path / "app")
    done = subprocess.run([sys.executable, "-m", "devhost", "--app-dir", str(app_dir),
                           "--queue-visibility-seconds", "0"], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "DEVHOST_QUEUE_VISIBILITY_SECONDS: must be a whole number of seconds in 1-600" in done.stderr

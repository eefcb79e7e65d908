"""A 20,000-segment import job survives a SIGKILL of its worker (docs/spec.md#24-post-apischedulesimport, docs/storage.md).

``python -m devhost`` serves function_app.py (HTTP routes and the queue-triggered job steps) with a
shortened message hide, against Azurite and the Dataverse emulator. The job is submitted over HTTP,
the dev host is killed once part of the job is done, started again, and the job must finish with
exactly the payload's bookings in Dataverse. How much work was redone is printed (and recorded in
docs/storage.md).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

import pytest

from samples.schedules import generate
from tests.component.schedules.importing import seed_users
from tests.support import ROOT, loopback
from tests.support.polling import wait_until
from tests.support.processes import free_port, wait_until_answering
from tests.support.settings import settings_for

pytestmark = pytest.mark.slow

AGENTS, SEGMENTS = 200, 100  # 20,000 segments: reference data, then 10 chunks of 2,000
HIDE_SECONDS = 3


def start_devhost(tmp_path, port: int, environ: dict[str, str]) -> subprocess.Popen[str]:
    log = open(tmp_path / f"devhost-{port}-{len(list(tmp_path.glob('devhost-*')))}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "devhost", "--app-dir", str(ROOT), "--port", str(port),
         "--settings", str(tmp_path / "local.settings.json"), "--keys", str(tmp_path / "keys.json"),
         "--queue-visibility-seconds", str(HIDE_SECONDS)],
        cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    wait_until_answering(f"http://127.0.0.1:{port}/api/health", process, timeout=60)
    return process


def booking_writes(dataverse) -> dict[str, int]:
    """Write requests for bookings and the rows they carried, from the emulator's request log."""
    requests = rows = 0
    for request in dataverse.requests:
        if request.method in ("POST", "PATCH") and "bookableresourcebookings" in request.path:
            requests += 1
            body = request.json() if request.body else {}
            rows += len(body.get("Targets", [])) if isinstance(body, dict) else 0
    return {"requests": requests, "rows": rows, "all writes": sum(
        dataverse.count(method=m) for m in ("POST", "PATCH", "PUT", "DELETE")), "reads": dataverse.count(method="GET")}


def test_a_killed_worker_resumes_the_job_and_dataverse_holds_exactly_the_payload(tmp_path, dataverse, azurite):
    document = generate.schedule(agents=AGENTS, segments_per_agent=SEGMENTS)
    seed_users(dataverse, [generate.email(i) for i in range(AGENTS)])
    dataverse.latency = 0.002  # a little of a real service's pace, so the kill lands mid-chunk
    (tmp_path / "local.settings.json").write_text(json.dumps({"IsEncrypted": False, "Values": {}}))
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATAVERSE_", "BOOKING_", "AzureWebJobs"))},
        **settings_for(dataverse.url), "AzureWebJobsStorage": azurite.connection_string, "PYTHONPATH": str(ROOT),
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}/api"
    host = start_devhost(tmp_path, port, environ)
    try:
        key = json.loads((tmp_path / "keys.json").read_text())["hostKeys"]["default"]
        answer = loopback.post(f"{base}/schedules/import", content=json.dumps(document).encode(),
                               headers={"Prefer": "respond-async", "x-functions-key": key}, timeout=60)
        assert answer.status_code == 202, answer.text
        status_url = f"http://127.0.0.1:{port}{answer.headers['Location']}"

        def job() -> dict[str, Any]:
            return loopback.get(status_url, headers={"x-functions-key": key}, timeout=10).json()

        def mid_chunk() -> int:  # bookings written, once a chunk after the first is partly written
            written = len(dataverse.rows("bookableresourcebookings"))
            return written if written > 2000 and written % 2000 else 0

        wait_until(mid_chunk, seconds=120, interval=0.01, what="a chunk partly written")
        host.send_signal(signal.SIGKILL)
        host.wait(timeout=10)
        written_at_kill = len(dataverse.rows("bookableresourcebookings"))
        from azure.data.tables import TableClient

        row = TableClient.from_connection_string(azurite.connection_string, "importjobs").get_entity(
            answer.json()["jobId"], "job")
        at_kill = {"status": row["status"], "progress": {"done": row["done"]}}
        assert at_kill["status"] == "running" and 2000 <= at_kill["progress"]["done"] < written_at_kill

        host = start_devhost(tmp_path, port, environ)
        final = wait_until(lambda: (j := job())["status"] in ("succeeded", "failed") and j, seconds=180,
                           interval=0.2, what="the job to end")
    finally:
        host.send_signal(signal.SIGKILL)
        host.wait(timeout=10)

    assert final["status"] == "succeeded", final
    assert final["progress"] == {"segments": AGENTS * SEGMENTS, "done": AGENTS * SEGMENTS}
    result = final["result"]
    assert result["created"] + result["unchanged"] == AGENTS * SEGMENTS
    assert result["updated"] == result["removed"] == 0 and result["skipped"] == []

    resource_of_user = {r["_userid_value"]: r["bookableresourceid"] for r in dataverse.rows("bookableresources")}
    user_of_email = {u["internalemailaddress"]: u["systemuserid"] for u in dataverse.rows("systemusers")}
    expected = sorted((resource_of_user[user_of_email[a["email"]]], s["start"], s["end"])
                      for a in document["agents"] for s in a["segments"])
    held = sorted((r["_resource_value"], r["starttime"], r["endtime"]) for r in dataverse.rows("bookableresourcebookings"))
    assert held == expected  # no duplicate, none missing, none extra

    writes = booking_writes(dataverse)
    redone_rows = writes["rows"] - AGENTS * SEGMENTS
    print(f"\nkilled with {at_kill['progress']['done']} segments checkpointed, {written_at_kill} bookings written; "
          f"booking write requests {writes['requests']}, rows sent {writes['rows']} "
          f"(redone: {redone_rows} rows beyond the {AGENTS * SEGMENTS} minimum), all write requests "
          f"{writes['all writes']}, read requests {writes['reads']}; "
          f"result created {result['created']} unchanged {result['unchanged']}")
    assert 0 <= redone_rows <= 2000  # at most the rows of the one chunk in flight at the kill

"""docs/spec.md#24-post-apischedulesimport jobs and #26-get-apischedulesimportjobsjobid, against Azurite and the
Dataverse emulator; the queue-triggered functions run in-process on the messages in Azurite (tests/support/queue_runner.py)."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import azure.functions as func
import pytest

from entry.composition_root import CompositionRoot
from integration.schedules.job_storage import PAYLOADS, POISON_QUEUE, QUEUE, TABLE
from samples.schedules import generate
from tests.component.schedules.importing import FAST_RETRY, seed_users
from tests.support.handlers import app_handler
from tests.support.queue_runner import QueueRunner

ASYNC = {"Prefer": "return=minimal, Respond-Async"}


class JobApp:
    """The app's import routes and queue functions around one composition root."""

    def __init__(self, settings: dict[str, str], connection_string: str, retry: Any = FAST_RETRY) -> None:
        self.settings = settings
        self.root = CompositionRoot(settings, dataverse_options={"retry": retry})
        self._post = app_handler(self.root, "import_schedules")
        self._get = app_handler(self.root, "import_job_status")
        self.runner = QueueRunner(self.root, connection_string)
        self.connection_string = connection_string

    async def post(self, document: Any, headers: dict[str, str] | None = None) -> tuple[int, Any, func.HttpResponse]:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        response = await self._post(func.HttpRequest("POST", "/api/schedules/import", body=body, headers=headers or {}))
        return response.status_code, json.loads(response.get_body() or b"null"), response

    async def status(self, job_id: str) -> tuple[int, Any, func.HttpResponse]:
        response = await self._get(func.HttpRequest("GET", f"/api/schedules/import/jobs/{job_id}", body=b"",
                                                    route_params={"jobId": job_id}))
        return response.status_code, json.loads(response.get_body()), response

    async def finished(self, job_id: str) -> dict[str, Any] | None:
        _, document, _ = await self.status(job_id)
        return document if document["status"] in ("succeeded", "failed") else None

    async def run_to_end(self, *job_ids: str, seconds: float = 60.0) -> list[dict[str, Any]]:
        async def all_finished() -> bool:
            return all([await self.finished(j) for j in job_ids])

        await self.runner.run_until(all_finished, seconds)
        return [await self.finished(j) for j in job_ids]


@pytest.fixture
async def jobs(app_settings: dict[str, str], azurite: Any):
    app = JobApp({**app_settings, "AzureWebJobsStorage": azurite.connection_string}, azurite.connection_string)
    yield app
    await app.root.aclose()


def expected_fresh_answer(document: dict[str, Any], known_emails: set[str]) -> dict[str, Any]:
    """What a first import of ``document`` must answer, computed from the payload alone."""
    known = [a for a in document["agents"] if a["email"] in known_emails]
    committed = [s for a in known for s in a["segments"] if s.get("state", "committed") == "committed"]
    return {
        "created": len(committed), "updated": 0, "unchanged": 0, "removed": 0,
        "skipped": [{"agentId": a["agentId"], "reason": "no Dataverse user has this agent's email "
                     "(systemuser.internalemailaddress)"} for a in document["agents"] if a["email"] not in known_emails],
        "referenceData": {
            "resources": len(known), "activityTypes": len({s["activity"].casefold() for s in committed}),
            "statuses": len({s["status"].casefold() for s in committed}),
            "plans": 1 if document.get("plan") and known else 0,
        },
    }


def booking_keys(dataverse) -> list[tuple[str, str, str]]:
    return sorted((r["_resource_value"], r["starttime"], r["endtime"]) for r in dataverse.rows("bookableresourcebookings"))


def payload_keys(dataverse, document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The bookings the payload's committed segments must become: (resource, start, end), one each."""
    resource_of_user = {r["_userid_value"]: r["bookableresourceid"] for r in dataverse.rows("bookableresources")}
    user_of_email = {u["internalemailaddress"]: u["systemuserid"] for u in dataverse.rows("systemusers")}
    return sorted(
        (resource_of_user[user_of_email[a["email"]]], s["start"], s["end"])
        for a in document["agents"] for s in a["segments"] if s.get("state", "committed") == "committed"
    )


async def test_respond_async_answers_202_then_the_job_ends_with_the_synchronous_answer(jobs, dataverse, app_settings):
    document = generate.schedule(agents=30, segments_per_agent=100)  # 3,000 segments: reference + 2 chunks
    emails = [generate.email(i) for i in range(28)]  # two agents without a user
    seed_users(dataverse, emails)

    status, body, response = await jobs.post(document, ASYNC)
    assert status == 202, body
    job_id = body["jobId"]
    assert body == {"jobId": job_id, "status": "queued", "statusUrl": f"/api/schedules/import/jobs/{job_id}"}
    assert response.headers["Location"] == f"/api/schedules/import/jobs/{job_id}"
    assert 2 <= int(response.headers["Retry-After"]) <= 60
    assert response.headers["Preference-Applied"] == "respond-async"
    assert booking_keys(dataverse) == []  # nothing written before a worker runs it

    code, queued, answer = await jobs.status(job_id)
    assert code == 200 and queued["status"] == "queued" and queued["progress"] == {"segments": 3000, "done": 0}
    assert queued["startedAt"] is None and "result" not in queued and answer.headers["Retry-After"]

    seen = []
    while not await jobs.finished(job_id):  # one message at a time, reading the status between
        assert await jobs.runner.run_once(QUEUE) == 1
        seen.append((await jobs.status(job_id))[1])
    assert [s["status"] for s in seen] == ["running", "running", "succeeded"]
    assert [s["progress"]["done"] for s in seen] == [0, 2000, 3000]
    final = seen[-1]
    assert final["result"] == expected_fresh_answer(document, set(emails))
    assert final["submittedAt"] <= final["startedAt"] <= final["finishedAt"]
    assert booking_keys(dataverse) == payload_keys(dataverse, {**document, "agents": document["agents"][:28]})

    # the same import, synchronously, on a fresh emulator: the same answer
    dataverse.reset()
    seed_users(dataverse, emails)
    status, sync_answer, _ = await jobs.post(document)
    assert status == 200 and sync_answer == final["result"]


async def test_without_storage_the_preference_is_ignored_and_jobs_are_off(app_root, dataverse, app_settings):
    seed_users(dataverse, [generate.email(0)])
    post = app_handler(app_root, "import_schedules")
    body = json.dumps(generate.schedule(agents=1, segments_per_agent=3)).encode()
    response = await post(func.HttpRequest("POST", "/api/schedules/import", body=body, headers=ASYNC))
    assert response.status_code == 200 and "Preference-Applied" not in response.headers
    assert json.loads(response.get_body())["created"] == 3

    get = app_handler(app_root, "import_job_status")
    response = await get(func.HttpRequest("GET", "/x", body=b"", route_params={"jobId": "0" * 32}))
    assert response.status_code == 404
    assert "AzureWebJobsStorage" in json.loads(response.get_body())["detail"]


@pytest.mark.parametrize("job_id", ["0" * 32, "A" * 32, "0" * 31, "../importjobs", "x' or PartitionKey ne '", ""])
async def test_an_unknown_or_malformed_job_id_is_404(jobs, job_id):
    code, problem, response = await jobs.status(job_id)
    assert code == 404 and response.mimetype == "application/problem+json"
    assert problem["status"] == 404


async def test_an_invalid_payload_is_400_synchronously_and_stores_nothing(jobs, azurite):
    from azure.storage.blob import BlobServiceClient

    status, problem, _ = await jobs.post({"source": "x", "agents": [{}]}, ASYNC)
    assert status == 400 and problem["errors"]
    status, _, _ = await jobs.post(b"x" * (20 * 1024 * 1024 + 1), ASYNC)
    assert status == 413
    containers = [c.name for c in BlobServiceClient.from_connection_string(azurite.connection_string).list_containers()]
    assert PAYLOADS not in containers


async def test_a_synchronous_import_past_its_deadline_goes_on_as_a_job(jobs, dataverse):
    document = generate.schedule(agents=10, segments_per_agent=20)
    seed_users(dataverse, [generate.email(i) for i in range(10)])
    jobs.settings["SCHEDULE_IMPORT_SYNC_SECONDS"] = "1"
    dataverse.latency = 0.2  # every request: the reads alone take longer than the deadline

    status, body, response = await jobs.post(document)
    assert status == 202, body
    assert response.headers["Location"] == body["statusUrl"] and "Preference-Applied" not in response.headers

    dataverse.latency = 0
    (final,) = await jobs.run_to_end(body["jobId"])
    assert final["status"] == "succeeded"
    assert booking_keys(dataverse) == payload_keys(dataverse, document)
    answer = final["result"]
    assert answer["created"] + answer["unchanged"] == 200 and answer["updated"] == answer["removed"] == 0


async def test_an_outage_through_every_attempt_fails_the_job_and_a_rerun_completes_it(jobs, dataverse, azurite):
    document = generate.schedule(agents=4, segments_per_agent=10)
    seed_users(dataverse, [generate.email(i) for i in range(4)])
    status, body, _ = await jobs.post(document, ASYNC)
    assert status == 202
    dataverse.faults.fail(10_000, status=503)

    (failed,) = await jobs.run_to_end(body["jobId"])
    assert failed["status"] == "failed"
    assert failed["error"]["status"] == 503 and failed["error"]["rerunCompletes"] is True
    assert "again" in failed["error"]["detail"]
    assert jobs.runner.handled[QUEUE] == 5 and jobs.runner.handled[POISON_QUEUE] == 1  # maxDequeueCount, then poison

    dataverse.faults.clear()
    status, body, _ = await jobs.post(document, ASYNC)
    (done,) = await jobs.run_to_end(body["jobId"])
    assert done["status"] == "succeeded" and done["result"]["created"] == 40
    assert booking_keys(dataverse) == payload_keys(dataverse, document)


async def test_two_overlapping_jobs_never_write_one_agent_at_the_same_time(jobs, dataverse):
    first = generate.schedule(agents=40, segments_per_agent=100)  # 2 chunks of 20 agents
    second = generate.schedule(agents=40, segments_per_agent=100)
    generate.move(second, every=10)
    seed_users(dataverse, [generate.email(i) for i in range(40)])
    ids = []
    for document in (first, second):
        status, body, _ = await jobs.post(document, ASYNC)
        assert status == 202
        ids.append(body["jobId"])

    results = await jobs.run_to_end(*ids, seconds=120)
    assert [r["status"] for r in results] == ["succeeded", "succeeded"]
    # both reference steps ran side by side, without leases: every reference row exists once
    for entity_set, column in (("msdyn_shiftactivitytypes", "msdyn_name"), ("bookingstatuses", "name"),
                               ("msdyn_shiftplans", "msdyn_name"), ("bookableresources", "_userid_value")):
        values = [row[column] for row in dataverse.rows(entity_set)]
        assert len(values) == len(set(values)), entity_set
    created = [r["result"]["referenceData"] for r in results]
    assert created[0]["resources"] + created[1]["resources"] == 40 and created[0]["plans"] + created[1]["plans"] == 1

    from integration.schedules.jobs import step_records

    dependencies = jobs.root.dependencies()
    held: dict[str, list[tuple[datetime, datetime, str]]] = {}
    for job_id in ids:
        for record in await step_records(dependencies, job_id):
            for lock in record["locks"]:
                held.setdefault(lock, []).append((datetime.fromisoformat(record["writesFrom"]),
                                                   datetime.fromisoformat(record["writesTo"]), job_id))
    assert len(held) == 40 and all(len(intervals) == 2 for intervals in held.values())
    for intervals in held.values():
        (start_a, end_a, job_a), (start_b, end_b, job_b) = sorted(intervals)
        assert job_a != job_b and end_a <= start_b  # one job's writes of this agent ended before the other's began
    # each agent ends up with exactly one of the two schedules, whole: the one of the job that wrote it last
    keys = booking_keys(dataverse)
    first_keys, second_keys = set(payload_keys(dataverse, first)), set(payload_keys(dataverse, second))
    assert len(keys) == len(set(keys))
    for resource in {k[0] for k in first_keys}:
        have = {k for k in keys if k[0] == resource}
        assert have in ({k for k in first_keys if k[0] == resource}, {k for k in second_keys if k[0] == resource})


async def test_a_lost_next_message_is_sent_again_by_the_redelivered_one(jobs, dataverse, azurite):
    """A crash between the checkpoint and the next message: the old message comes back and re-sends it."""
    from azure.data.tables import TableClient, UpdateMode
    from azure.storage.queue import QueueClient

    document = generate.schedule(agents=3, segments_per_agent=4)
    seed_users(dataverse, [generate.email(i) for i in range(3)])
    _, body, _ = await jobs.post(document, ASYNC)
    job_id = body["jobId"]
    assert await jobs.runner.run_once(QUEUE) == 1  # step 0 done, step 1's message sent and noted

    queue = QueueClient.from_connection_string(azurite.connection_string, QUEUE)
    queue.clear_messages()  # ... as if the worker died before sending it
    table = TableClient.from_connection_string(azurite.connection_string, TABLE)
    table.update_entity({"PartitionKey": job_id, "RowKey": "job", "enqueuedStep": 0}, mode=UpdateMode.MERGE)
    queue.send_message(base64.b64encode(json.dumps({"jobId": job_id, "step": 0}).encode()).decode())

    (final,) = await jobs.run_to_end(job_id)
    assert final["status"] == "succeeded" and final["result"]["created"] == 12
    assert booking_keys(dataverse) == payload_keys(dataverse, document)


async def test_messages_of_a_finished_job_change_nothing(jobs, dataverse, azurite):
    from azure.storage.queue import QueueClient

    document = generate.schedule(agents=2, segments_per_agent=3)
    seed_users(dataverse, [generate.email(i) for i in range(2)])
    _, body, _ = await jobs.post(document, ASYNC)
    (final,) = await jobs.run_to_end(body["jobId"])
    writes_before = dataverse.count(method="POST")
    queue = QueueClient.from_connection_string(azurite.connection_string, QUEUE)
    for step in (0, 1, 7):
        queue.send_message(base64.b64encode(json.dumps({"jobId": body["jobId"], "step": step}).encode()).decode())
    queue.send_message(base64.b64encode(b"not a step").decode())
    while await jobs.runner.run_once(QUEUE):
        pass
    assert jobs.runner.failures == []
    assert (await jobs.status(body["jobId"]))[1] == final
    assert dataverse.count(method="POST") == writes_before


@pytest.mark.slow  # about 10 s: a measurement of 10,000 segments (make test-slow, run by CI)
async def test_storage_transactions_of_a_10000_segment_job_are_bounded(app_settings, azurite, dataverse):
    """Every request the app sends to the storage account for one job, counted on the wire (docs/storage.md)."""
    from azure.data.tables import TableClient

    from tests.support.counting_proxy import counting_relays

    document = generate.schedule(agents=100, segments_per_agent=100)  # reference data + 5 chunks of 20 agents
    seed_users(dataverse, [generate.email(i) for i in range(100)])
    with counting_relays(azurite.blob_endpoint, azurite.queue_endpoint, azurite.table_endpoint) as relays:
        blob, queue, table = relays
        app = JobApp({**app_settings, "AzureWebJobsStorage": counted_connection(relays)}, azurite.connection_string)
        try:
            status, body, _ = await app.post(document, ASYNC)
            assert status == 202
            submit = {"blob": blob.total, "queue": queue.total, "table": table.total}
            rows = TableClient.from_connection_string(azurite.connection_string, TABLE)
            await app.runner.run_until(lambda: rows.get_entity(body["jobId"], "job")["status"] == "succeeded", 60)
            run = {"blob": blob.total - submit["blob"], "queue": queue.total - submit["queue"],
                   "table": table.total - submit["table"]}
            await app.status(body["jobId"])
            total = blob.total + queue.total + table.total
        finally:
            await app.root.aclose()
    print(f"\nstorage requests of a 10,000-segment job: submit {submit}, steps {run}, "
          f"one status read of the result {total - sum(submit.values()) - sum(run.values())}; "
          f"host: {app.runner.handled[QUEUE]} messages received and deleted")
    assert app.runner.handled[QUEUE] == 6  # one message per step: no lease waits, no retries
    assert blob.count("GET", f"/{PAYLOADS}/{body['jobId']}.json") == 1  # step 0 only
    # per step: the row read twice, a checkpoint, a note of the next message, a message, the step's blob,
    # the payload (step 0) or its chunk blob read; step 0 writes the 5 chunk blobs; and per agent a lease
    # blob created, acquired and released (renewals: none this short)
    assert sum(submit.values()) <= 8
    assert sum(run.values()) <= 6 * 8 + 5 + 100 * 3 + 10  # measured: 353


def counted_connection(relays: list[Any]) -> str:
    """A connection string to Azurite through ``counting_relays`` (blob, queue, table)."""
    from tests.support.azurite import ACCOUNT, ACCOUNT_KEY

    blob, queue, table = relays
    return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={blob.url};QueueEndpoint={queue.url};TableEndpoint={table.url};")


async def test_a_booking_step_reads_its_chunk_blob_and_never_the_whole_payload(app_settings, azurite, dataverse):
    """Step 0 reads the payload and writes one blob per booking chunk; each booking step downloads its own
    chunk blob only (blob GETs counted by path on the wire)."""
    from azure.storage.blob import ContainerClient

    from tests.support.counting_proxy import counting_relays

    document = generate.schedule(agents=41, segments_per_agent=100)  # reference data + chunks of 20, 20, 1 agents
    seed_users(dataverse, [generate.email(i) for i in range(41)])
    with counting_relays(azurite.blob_endpoint, azurite.queue_endpoint, azurite.table_endpoint) as relays:
        blob = relays[0]
        app = JobApp({**app_settings, "AzureWebJobsStorage": counted_connection(relays)}, azurite.connection_string)
        try:
            status, body, _ = await app.post(document, ASYNC)
            assert status == 202
            job_id = body["jobId"]
            payload = f"/{PAYLOADS}/{job_id}.json"
            assert await app.runner.run_once(QUEUE) == 1  # step 0
            assert blob.count("GET", payload) == 1
            assert [blob.count("PUT", f"/{PAYLOADS}/{job_id}/chunk-{i:04d}.json") for i in (1, 2, 3)] == [1, 1, 1]
            for step in (1, 2, 3):
                assert await app.runner.run_once(QUEUE) == 1
                assert blob.count("GET", payload) == 1, f"step {step} read the whole payload"
                assert [blob.count("GET", f"/{PAYLOADS}/{job_id}/chunk-{i:04d}.json") for i in (1, 2, 3)] == [
                    1 if i <= step else 0 for i in (1, 2, 3)]
            final = await app.finished(job_id)
        finally:
            await app.root.aclose()
    assert final is not None and final["result"] == expected_fresh_answer(document, {
        generate.email(i) for i in range(41)})
    assert booking_keys(dataverse) == payload_keys(dataverse, document)
    sizes = {b.name: b.size for b in ContainerClient.from_connection_string(azurite.connection_string, PAYLOADS)
             .list_blobs(name_starts_with=job_id)}
    chunks = [sizes[f"{job_id}/chunk-{i:04d}.json"] for i in (1, 2, 3)]
    print(f"\npayload blob {sizes[f'{job_id}.json']} bytes; chunk blobs {chunks} bytes")
    assert sum(chunks) < 1.5 * sizes[f"{job_id}.json"]  # the payload once more, not once per step


async def test_a_damaged_chunk_blob_fails_the_job_and_writes_nothing_of_it(jobs, dataverse, azurite):
    from azure.storage.blob import ContainerClient

    document = generate.schedule(agents=2, segments_per_agent=3)
    seed_users(dataverse, [generate.email(i) for i in range(2)])
    _, body, _ = await jobs.post(document, ASYNC)
    assert await jobs.runner.run_once(QUEUE) == 1  # step 0: reference data and the chunk blob
    payloads = ContainerClient.from_connection_string(azurite.connection_string, PAYLOADS)
    chunk = f"{body['jobId']}/chunk-0001.json"
    stored = json.loads(payloads.download_blob(chunk).readall())
    stored["agents"][1]["segments"][0]["end"] = stored["agents"][1]["segments"][0]["start"]  # no longer valid
    payloads.upload_blob(chunk, json.dumps(stored).encode(), overwrite=True)

    (failed,) = await jobs.run_to_end(body["jobId"])
    assert failed["status"] == "failed" and failed["error"]["status"] == 500
    assert failed["error"]["rerunCompletes"] is True and "step 1" in failed["error"]["detail"]
    assert jobs.runner.handled[QUEUE] == 2 and jobs.runner.failures == []  # failed at once, no retries
    assert booking_keys(dataverse) == []


async def test_a_step_without_its_chunk_blob_reads_the_payload_and_without_either_the_job_fails(jobs, dataverse,
                                                                                                 azurite):
    """A job whose step 0 ran before chunk blobs existed (an upgrade mid-job) goes on from the payload."""
    from azure.storage.blob import ContainerClient

    payloads = ContainerClient.from_connection_string(azurite.connection_string, PAYLOADS)
    seed_users(dataverse, [generate.email(i) for i in range(2)])
    ids = []
    for _ in range(2):
        _, body, _ = await jobs.post(generate.schedule(agents=2, segments_per_agent=3), ASYNC)
        ids.append(body["jobId"])
    assert await jobs.runner.run_once(QUEUE) == 2  # both step 0s
    for job_id in ids:
        payloads.delete_blob(f"{job_id}/chunk-0001.json")
    payloads.delete_blob(f"{ids[1]}.json")

    done, gone = await jobs.run_to_end(*ids)
    assert done["status"] == "succeeded" and done["result"]["created"] == 6
    assert gone["status"] == "failed" and gone["error"]["status"] == 410


async def test_a_later_step_without_its_chunk_blob_reads_its_own_agents_from_the_payload(jobs, dataverse, azurite):
    """An upgrade mid-job: step 0 ran before chunk blobs existed, so no step has one. Step 2's agents are
    payload indexes 100.. while its part of the payload holds one agent: the fallback must lease and import
    that agent, not index the part with the payload's indexes (review2: IndexError, retried into the poison queue)."""
    from azure.storage.blob import ContainerClient

    document = generate.schedule(agents=101, segments_per_agent=1)  # reference data + chunks of 100 and 1 agents
    seed_users(dataverse, [generate.email(i) for i in range(101)])
    _, body, _ = await jobs.post(document, ASYNC)
    job_id = body["jobId"]
    assert await jobs.runner.run_once(QUEUE) == 1  # step 0
    payloads = ContainerClient.from_connection_string(azurite.connection_string, PAYLOADS)
    for index in (1, 2):  # as a step 0 of the previous deployment left the job
        payloads.delete_blob(f"{job_id}/chunk-{index:04d}.json")

    (final,) = await jobs.run_to_end(job_id)
    assert jobs.runner.failures == []
    assert final["status"] == "succeeded", final.get("error")
    assert final["result"] == expected_fresh_answer(document, {generate.email(i) for i in range(101)})
    assert booking_keys(dataverse) == payload_keys(dataverse, document)


async def test_step_0_interrupted_while_writing_chunk_blobs_runs_again_and_writes_the_same_ones(
        app_settings, azurite, dataverse):
    from azure.storage.blob import ContainerClient

    from tests.support.counting_proxy import counting_relays

    document = generate.schedule(agents=101, segments_per_agent=2)  # reference data + chunks of 100 and 1 agents
    seed_users(dataverse, [generate.email(i) for i in range(101)])
    payloads = ContainerClient.from_connection_string(azurite.connection_string, PAYLOADS)
    with counting_relays(azurite.blob_endpoint, azurite.queue_endpoint, azurite.table_endpoint) as relays:
        blob = relays[0]
        app = JobApp({**app_settings, "AzureWebJobsStorage": counted_connection(relays)}, azurite.connection_string)
        try:
            _, body, _ = await app.post(document, ASYNC)
            job_id = body["jobId"]
            blob.refuse = lambda method, path: method == "PUT" and path.split("?")[0].endswith(  # storage gone
                f"/{PAYLOADS}/{job_id}/chunk-0002.json")
            assert await app.runner.run_once(QUEUE) == 1
            assert len(app.runner.failures) == 1 and blob.refused >= 1  # an outage: the message comes back
            first = payloads.download_blob(f"{job_id}/chunk-0001.json").readall()
            assert not payloads.get_blob_client(f"{job_id}/chunk-0002.json").exists()
            assert (await app.status(job_id))[1]["progress"]["done"] == 0
            blob.refuse = None
            (final,) = await app.run_to_end(job_id)
        finally:
            await app.root.aclose()
    assert blob.count("PUT", f"/{PAYLOADS}/{job_id}/chunk-0001.json") == 2
    assert payloads.download_blob(f"{job_id}/chunk-0001.json").readall() == first  # rewritten, the same bytes
    assert final["status"] == "succeeded" and final["result"] == expected_fresh_answer(document, {
        generate.email(i) for i in range(101)})
    assert booking_keys(dataverse) == payload_keys(dataverse, document)


async def test_jobs_past_their_retention_are_purged_whole_and_recent_ones_kept(jobs, dataverse, azurite):
    from datetime import timedelta, timezone

    from azure.storage.blob import ContainerClient

    from integration.schedules.jobs import JOB_RETENTION_DAYS, purge_old_jobs

    seed_users(dataverse, [generate.email(i) for i in range(2)])
    _, old, _ = await jobs.post(generate.schedule(agents=2, segments_per_agent=3), ASYNC)
    await jobs.run_to_end(old["jobId"])
    payloads = ContainerClient.from_connection_string(azurite.connection_string, PAYLOADS)
    assert sorted(b.name for b in payloads.list_blobs()) == [
        f"{old['jobId']}.json", f"{old['jobId']}/chunk-0001.json", f"{old['jobId']}/result.json",
        f"{old['jobId']}/step-0000.json", f"{old['jobId']}/step-0001.json"]
    storage = jobs.root.dependencies().storage
    now = datetime.now(timezone.utc)
    assert await purge_old_jobs(storage, now) == 0  # submitted just now: kept

    later = now + timedelta(days=JOB_RETENTION_DAYS, minutes=1)
    _, recent, _ = await jobs.post(generate.schedule(agents=1, segments_per_agent=1), ASYNC)
    from azure.data.tables import TableClient, UpdateMode

    TableClient.from_connection_string(azurite.connection_string, TABLE).update_entity(  # submitted "later"
        {"PartitionKey": recent["jobId"], "RowKey": "job", "submittedAt": later.strftime("%Y-%m-%dT%H:%M:%SZ")},
        mode=UpdateMode.MERGE)
    assert await purge_old_jobs(storage, later) == 1
    assert (await jobs.status(old["jobId"]))[0] == 404
    assert [b.name for b in payloads.list_blobs()] == [f"{recent['jobId']}.json"]
    assert (await jobs.status(recent["jobId"]))[0] == 200


async def test_the_command_submits_a_job_follows_it_and_follows_it_again(jobs, dataverse, app_settings, capsys,
                                                                         tmp_path):
    import asyncio

    from entry.schedule_import import EXIT_OK, EXIT_SETTINGS, EXIT_USAGE, main

    document = generate.schedule(agents=3, segments_per_agent=5)
    seed_users(dataverse, [generate.email(i) for i in range(3)])
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(document))

    following = asyncio.ensure_future(asyncio.to_thread(main, [str(path), "--job"], jobs.settings))
    await jobs.runner.run_until(following.done, 60)
    assert following.result() == EXIT_OK
    captured = capsys.readouterr()
    answer = json.loads(captured.out)
    assert answer["status"] == "succeeded" and answer["result"] == expected_fresh_answer(document, {
        generate.email(i) for i in range(3)})
    assert f"import job {answer['jobId']} queued" in captured.err
    assert booking_keys(dataverse) == payload_keys(dataverse, document)

    assert await asyncio.to_thread(main, ["--follow", answer["jobId"]], jobs.settings) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == answer

    for argv in ([], [str(path), "--follow", answer["jobId"]], ["--job", "--follow", answer["jobId"]]):
        assert await asyncio.to_thread(main, argv, jobs.settings) == EXIT_USAGE
    assert await asyncio.to_thread(main, [str(path), "--job"], app_settings) == EXIT_SETTINGS  # no storage
    assert "AzureWebJobsStorage" in json.loads(capsys.readouterr().out)["detail"]


async def test_a_step_failing_unexpectedly_on_every_attempt_says_a_rerun_may_not_help(jobs, dataverse, azurite):
    from azure.storage.blob import ContainerClient

    seed_users(dataverse, [generate.email(0)])
    _, body, _ = await jobs.post(generate.schedule(agents=1, segments_per_agent=2), ASYNC)
    assert await jobs.runner.run_once(QUEUE) == 1  # step 0 done
    payloads = ContainerClient.from_connection_string(azurite.connection_string, PAYLOADS)
    payloads.upload_blob(f"{body['jobId']}/step-0000.json", b"{}", overwrite=True)  # its stored answer damaged

    (failed,) = await jobs.run_to_end(body["jobId"])
    assert failed["status"] == "failed" and failed["error"]["rerunCompletes"] is False
    assert "KeyError" in failed["error"]["detail"] and failed["error"]["status"] == 500
    assert jobs.runner.handled[POISON_QUEUE] == 1


async def test_a_step_finding_the_import_slots_taken_comes_back_later_without_failing(jobs, dataverse, azurite):
    from azure.storage.queue import QueueClient

    from integration.schedules.importer import MAX_CONCURRENT_IMPORTS, import_slot

    seed_users(dataverse, [generate.email(0)])
    _, body, _ = await jobs.post(generate.schedule(agents=1, segments_per_agent=2), ASYNC)
    slots = [import_slot() for _ in range(MAX_CONCURRENT_IMPORTS)]
    for slot in slots:
        slot.__enter__()  # two imports running in this process
    try:
        assert await jobs.runner.run_once(QUEUE) == 1
    finally:
        for slot in slots:
            slot.__exit__(None, None, None)
    assert jobs.runner.failures == []
    assert (await jobs.status(body["jobId"]))[1]["status"] == "queued"
    queue = QueueClient.from_connection_string(azurite.connection_string, QUEUE)
    assert queue.get_queue_properties().approximate_message_count == 1  # the same step, delayed
    assert await jobs.runner.run_once(QUEUE) == 0  # not visible yet


async def test_a_chunk_whose_agent_another_holder_leases_waits_and_writes_nothing_meanwhile(jobs, dataverse, azurite):
    from azure.storage.blob import BlobClient, ContainerClient
    from azure.storage.queue import QueueClient

    from integration.schedules.job_storage import LOCKS
    from integration.schedules.jobs import lock_name

    document = generate.schedule(agents=3, segments_per_agent=4)
    seed_users(dataverse, [generate.email(i) for i in range(3)])
    _, body, _ = await jobs.post(document, ASYNC)
    assert await jobs.runner.run_once(QUEUE) == 1  # reference data

    ContainerClient.from_connection_string(azurite.connection_string, LOCKS).create_container()
    held = BlobClient.from_connection_string(azurite.connection_string, LOCKS, lock_name(generate.email(2)))
    held.upload_blob(b"", overwrite=True)
    lease = held.acquire_lease(lease_duration=60)  # another job writes agent 2 right now
    assert await jobs.runner.run_once(QUEUE) == 1
    assert booking_keys(dataverse) == []
    queue = QueueClient.from_connection_string(azurite.connection_string, QUEUE)
    assert queue.get_queue_properties().approximate_message_count == 1  # the same step, sent again with a delay
    assert (await jobs.status(body["jobId"]))[1]["progress"]["done"] == 0
    for i in range(2):  # the other agents' leases it took were released: their blobs can be written without one
        BlobClient.from_connection_string(azurite.connection_string, LOCKS, lock_name(generate.email(i))).upload_blob(
            b"", overwrite=True)
    lease.release()

    (final,) = await jobs.run_to_end(body["jobId"])
    assert final["status"] == "succeeded" and final["result"]["created"] == 12
    assert jobs.runner.handled[QUEUE] >= 3  # reference, the chunk that waited, the chunk again


async def test_a_chunk_whose_lease_is_lost_before_it_writes_stops_and_comes_back(app_settings, dataverse, azurite,
                                                                                   caplog):
    """The chunk holds its agent's lease and reads the agent's bookings (held up by Dataverse); meanwhile
    another party breaks the lease and the holder's renewal is refused. The chunk writes nothing, sends the
    same step again, and the job later completes it."""
    import asyncio
    import logging

    from azure.storage.blob import BlobClient, BlobLeaseClient
    from azure.storage.queue import QueueClient

    from dataverse import RetryPolicy
    from integration.schedules.job_storage import LOCKS
    from integration.schedules.jobs import lock_name
    from tests.support.polling import wait_until_async

    # the held read is dropped once the test has seen the renewal refused: the client reads again at once
    patient = RetryPolicy(max_attempts=2, max_total_wait=120.0, base_delay=0.01, max_delay=0.02)
    jobs = JobApp({**app_settings, "AzureWebJobsStorage": azurite.connection_string}, azurite.connection_string,
                  retry=patient)

    seed_users(dataverse, [generate.email(0)])
    _, body, _ = await jobs.post(generate.schedule(agents=1, segments_per_agent=4), ASYNC)
    assert await jobs.runner.run_once(QUEUE) == 1  # reference data
    dataverse.faults.hang(1, seconds=60, method="GET", path="bookableresourcebookings")  # the chunk's read waits
    caplog.set_level(logging.WARNING, logger="storage_client")
    step = asyncio.create_task(jobs.runner.run_once(QUEUE))
    blob = BlobClient.from_connection_string(azurite.connection_string, LOCKS, lock_name(generate.email(0)))
    try:
        await wait_until_async(lambda: dataverse.faults.pending() == 0 and blob.exists()
                               and blob.get_blob_properties().lease.state == "leased", what="the chunk reading")
        BlobLeaseClient(blob).break_lease(lease_break_period=0)
        await wait_until_async(lambda: "storage refused its renewal" in caplog.text, seconds=15,
                               what="the holder's renewal refused")
    finally:
        dataverse.interrupt_waits()  # the held read is dropped; the client reads again
        assert await step == 1
    assert jobs.runner.failures == []
    assert booking_keys(dataverse) == []  # nothing written after the lease was lost
    queue = QueueClient.from_connection_string(azurite.connection_string, QUEUE)
    assert queue.get_queue_properties().approximate_message_count == 1  # the same step, sent again with a delay
    assert (await jobs.status(body["jobId"]))[1]["progress"]["done"] == 0

    try:
        (final,) = await jobs.run_to_end(body["jobId"])
    finally:
        await jobs.root.aclose()
    assert final["status"] == "succeeded" and final["result"]["created"] == 4

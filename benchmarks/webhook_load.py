"""1,000 signed webhook deliveries through the in-process DevHost, 16 senders at once, then a state check.

The deliveries are 700 bookings, 200 later updates of some of them (half cancellations) and
100 exact duplicates (same webhook id and body), shuffled, so updates often arrive before
their create and duplicates race their original. Customers repeat (300 emails for 700
bookings), so lead look-ups and the one-lead-per-email rule are exercised under concurrency.
A sender redelivers on 503/504 as a webhook sender would (Retry-After shortened to 50 ms).

Everything runs in one process (emulator, DevHost, senders share the GIL), so throughput is a
floor, not the app's capacity; what matters is the final state and the requests per delivery.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks import Webhook

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_" + "d2ViaG9vay1sb2FkLWJlbmNobWFyay0wMDE="  # benchmark-only
VERSION_COLUMN = "new_bookingversion"
SENDERS = 16
REDELIVERIES = 5


@dataclass(frozen=True)
class Delivery:
    webhook_id: str
    booking: str
    body: bytes
    updated_at: str
    status: str
    subject: str


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    answers: dict[int, int] = field(default_factory=dict)
    redelivered: int = 0
    failed: int = 0


def deliveries(bookings: int = 700, updates: int = 200, duplicates: int = 100, seed: int = 47) -> list[Delivery]:
    rng = random.Random(seed)
    start = datetime(2026, 3, 2, 9, tzinfo=timezone.utc)
    made: list[Delivery] = []
    for n in range(bookings):
        slot = start + timedelta(minutes=30 * n)
        customer = {"firstName": "Load", "lastName": f"Customer {n % 300:03d}", "email": f"load{n % 300:03d}@example.com"}
        made.append(_delivery(f"apt_load_{n:04d}", "appointment.created", "scheduled", "2026-02-01T10:00:00Z",
                              slot, customer, f"Consultation {n}"))
    for n in rng.sample(range(bookings), updates):
        slot = start + timedelta(minutes=30 * n, days=1)
        cancel = n % 2 == 0
        made.append(_delivery(f"apt_load_{n:04d}", "appointment.cancelled" if cancel else "appointment.updated",
                              "cancelled" if cancel else "scheduled", "2026-02-02T10:00:00Z", slot,
                              {"email": f"load{n % 300:03d}@example.com"}, f"Consultation {n} (moved)"))
    made += rng.sample(made, duplicates)
    rng.shuffle(made)
    return made


def _delivery(booking: str, kind: str, status: str, updated_at: str, slot: datetime, customer: dict[str, str],
              subject: str) -> Delivery:
    body = {
        "type": kind,
        "timestamp": updated_at,
        "data": {
            "appointmentId": booking, "status": status, "updatedAt": updated_at,
            "start": slot.isoformat(), "end": (slot + timedelta(minutes=30)).isoformat(),
            "subject": subject, "customer": customer,
        },
    }
    return Delivery(f"msg_{booking}_{status}_{updated_at[:10]}", booking, json.dumps(body).encode(), updated_at, status,
                    subject)


async def _send_all(url: str, queue: list[Delivery]) -> Tally:
    signer = Webhook(SECRET)
    tally = Tally()
    pending = list(reversed(queue))

    async def sender(client: httpx.AsyncClient) -> None:
        while pending:
            item = pending.pop()
            for attempt in range(1, REDELIVERIES + 1):
                moment = datetime.now(timezone.utc)
                headers = {
                    "webhook-id": item.webhook_id, "webhook-timestamp": str(int(moment.timestamp())),
                    "webhook-signature": signer.sign(item.webhook_id, moment, item.body.decode()),
                    "content-type": "application/json",
                }
                started = time.perf_counter()
                answer = await client.post(url, content=item.body, headers=headers)
                tally.answers[answer.status_code] = tally.answers.get(answer.status_code, 0) + 1
                if answer.status_code == 200:
                    tally.latencies.append(time.perf_counter() - started)
                    break
                if answer.status_code not in (503, 504) or attempt == REDELIVERIES:
                    tally.failed += 1
                    break
                tally.redelivered += 1
                await asyncio.sleep(0.05)

    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=SENDERS)) as client:
        await asyncio.gather(*(sender(client) for _ in range(SENDERS)))
    return tally


def _check_state(emulator: Any, sent: list[Delivery]) -> list[str]:
    """Problems with the final state: one appointment per booking, each in its newest event's state."""
    from integration.appointments.keys import appointment_row_id

    newest: dict[str, Delivery] = {}
    for item in sent:
        if item.booking not in newest or item.updated_at > newest[item.booking].updated_at:
            newest[item.booking] = item
    rows = emulator.rows("appointments")
    by_id = {r["activityid"]: r for r in rows}
    problems = []
    if len(rows) != len(newest):
        problems.append(f"{len(rows)} appointments for {len(newest)} bookings")
    for booking, item in newest.items():
        row = by_id.get(appointment_row_id("booking", booking))
        if row is None:
            problems.append(f"{booking}: no appointment")
            continue
        state = (2, 4) if item.status == "cancelled" else (0, 1)
        if (row["statecode"], row["statuscode"]) != state or row["subject"] != item.subject \
                or not str(row[VERSION_COLUMN]).startswith(item.updated_at[:19]):
            problems.append(f"{booking}: not in its newest state")
    emails = [r["emailaddress1"] for r in emulator.rows("leads")]
    if len(emails) != len(set(emails)):
        problems.append(f"{len(emails) - len(set(emails))} duplicate leads")
    return problems


def _load(sent: list[Delivery], *, storage: str | None, cost_model: str | None,
          time_compression: float) -> tuple[dict[str, Any], list[str], Tally, float, int]:
    """One pass of ``sent`` through a fresh emulator and DevHost; ``storage``: AzureWebJobsStorage or none."""
    from devhost import DevHost
    from emulators.dataverse import DataverseEmulator

    emulator = DataverseEmulator(custom_columns={"appointment": {VERSION_COLUMN: "string"}},
                                 cost_model=cost_model, time_compression=time_compression)
    emulator.start()
    settings = {
        "DATAVERSE_URL": emulator.url, "DATAVERSE_AUTH": "none", "BOOKING_API_URL": "http://127.0.0.1:9/unused",
        "BOOKING_REDIRECT_URL": "https://book.example.com/start?session={sessionId}",
        "BOOKING_WEBHOOK_SECRET": SECRET, "APPOINTMENT_VERSION_COLUMN": VERSION_COLUMN,
        **({"AzureWebJobsStorage": storage} if storage else {}),
    }
    try:
        with DevHost(app_dir=ROOT, settings=settings) as host:
            emulator.clear_log()
            started = time.perf_counter()
            tally = asyncio.run(_send_all(f"{host.url}/api/webhooks/appointments", sent))
            elapsed = time.perf_counter() - started
        requests = emulator.count()
        problems = _check_state(emulator, sent)
    finally:
        emulator.stop()
    latencies = sorted(tally.latencies)
    result = {
        "deliveries": len(sent),
        "senders": SENDERS,
        "seconds": round(elapsed, 2),
        "deliveries_per_second": round(len(sent) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 1),
        "dataverse_requests_per_delivery": round(requests / len(sent), 2),
        "answers": dict(sorted(tally.answers.items())),
        "redelivered": tally.redelivered,
        "failed": tally.failed,
        "state_problems": problems,
    }
    return result, problems, tally, elapsed, requests


def _report(result: dict[str, Any], tally: Tally, problems: list[str]) -> None:
    print(f"   {result['deliveries']} deliveries ({SENDERS} senders): {result['seconds']} s, "
          f"{result['deliveries_per_second']} deliveries/s")
    print(f"   latency of an accepted delivery: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms")
    print(f"   Dataverse requests per delivery: {result['dataverse_requests_per_delivery']} "
          f"($batch counts as one); answers {result['answers']}, redelivered {tally.redelivered}")
    verdict = "ok: one appointment per booking, each in its newest state, one lead per email"
    print(f"   final state: {verdict if not problems and not tally.failed else problems[:5]}")
    if problems or tally.failed:
        raise AssertionError(f"{len(problems)} state problems, {tally.failed} deliveries failed")


def run(total: int = 1000, *, cost_model: str | None = None, time_compression: float = 1.0,
        with_storage: bool = True) -> dict[str, Any]:
    """``cost_model="standard"`` runs the same load against the emulator's cost model (docs/cost-model.md).

    ``with_storage``: a second pass of the same deliveries with the app's storage account (Azurite,
    through request-counting relays), so delivery records and appointment markers are on; reported
    against the first pass, measured in the same run."""
    scale = total / 1000
    sent = deliveries(int(700 * scale), int(200 * scale), int(100 * scale))
    result, problems, tally, _, _ = _load(sent, storage=None, cost_model=cost_model,
                                          time_compression=time_compression)
    print("   without a storage account:")
    _report(result, tally, problems)
    if not with_storage:
        return result
    from tests.support.azurite import running_azurite
    from tests.support.counting_proxy import counting_relays

    with running_azurite() as azurite, \
            counting_relays(azurite.blob_endpoint, azurite.queue_endpoint, azurite.table_endpoint) as relays:
        connection = azurite.connection_string
        for relay, endpoint in zip(relays, (azurite.blob_endpoint, azurite.queue_endpoint, azurite.table_endpoint), strict=True):
            connection = connection.replace(f"={endpoint};", f"={relay.url};")
        stored, problems, tally, _, _ = _load(sent, storage=connection, cost_model=cost_model,
                                              time_compression=time_compression)
        storage_requests = sum(relay.total for relay in relays)
    stored["storage_requests_per_delivery"] = round(storage_requests / len(sent), 2)
    print("   with a storage account (Azurite): delivery records and appointment markers")
    _report(stored, tally, problems)
    print(f"   storage requests per delivery: {stored['storage_requests_per_delivery']}")
    print(f"   against the pass without storage: p50 x{stored['p50_ms'] / result['p50_ms']:.2f}, "
          f"p99 x{stored['p99_ms'] / result['p99_ms']:.2f}, "
          f"throughput x{stored['deliveries_per_second'] / result['deliveries_per_second']:.2f}")
    result["with_storage"] = stored
    return result


if __name__ == "__main__":
    run()

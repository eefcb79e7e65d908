"""The app's own time per booking-session request, without the time spent waiting on upstreams.

Each request goes through the real handler to the Dataverse emulator and the booking sandbox
over loopback. Both run as their own processes: in this process their threads would compete
for the GIL and inflate what is measured. Every HTTP exchange is timed where httpx hands it
to the network (sending, waiting for the headers, then each body chunk), and that wait is
subtracted from the handler's wall time: what is left is validation, settings, models, URL
building and the clients' own work.

It runs twice: with a function key (``SESSION_AUTH=key``) and with the signed-in user's
token (``SESSION_AUTH=entra``: the Entra ID stand-in over https, the token validated, the
customer and appointment read with the user's on-behalf-of token). Both are measured with
warm caches (signing keys and the user's exchanged token), as a running app has them.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import azure.functions as func
import httpx

ROOT = Path(__file__).resolve().parent.parent
TARGET_P99_MS = 5.0
API_KEY = "bench-key"
_URL = re.compile(r"https?://127\.0\.0\.1:\d+")
_CA = re.compile(r"CA certificate: (.+)\)")
WEBHOOK_SECRET = "whsec_" + "YmVuY2htYXJrLXdlYmhvb2stc2VjcmV0"  # benchmark-only


def run(requests: int = 200, warmup: int = 20) -> dict[str, Any]:
    """Median and p99 of the app's overhead per ``POST /api/booking-sessions``, in milliseconds, per mode."""
    results: dict[str, Any] = {"requests": requests}
    with _served("emulators.dataverse", "--port", "0") as (dataverse_url, _), \
            _served("emulators.booking", "--port", "0", "--api-key", API_KEY) as (sandbox_url, _), \
            _served("emulators.identity", "--port", "0") as (identity_url, ca_path):
        lead_id = _insert_lead(dataverse_url)
        _insert_appointments(dataverse_url, lead_id, warmup + requests)
        settings = _settings(dataverse_url, sandbox_url)
        print(f"   requests through the handler: {requests} per mode (after {warmup} warm-up)")
        for mode in ("key", "entra"):
            entra_options: dict[str, Any] = {}
            authorization = None
            if mode == "entra":
                authorization, entra_settings = _entra(identity_url, ca_path, dataverse_url)
                settings = {**settings, **entra_settings}
                entra_options = {"verify": ssl.create_default_context(cafile=ca_path)}
                os.environ["REQUESTS_CA_BUNDLE"] = ca_path  # msal (requests) trusts the stand-in's CA
            samples = asyncio.run(_measure(settings, lead_id, requests, warmup, authorization, entra_options))
            results[mode] = _report(mode, samples)
    return results


def _report(mode: str, samples: list[tuple[float, float]]) -> dict[str, float]:
    overhead = sorted(total - waited for total, waited in samples)
    totals = sorted(total for total, _ in samples)
    result = {
        "overhead_median_ms": statistics.median(overhead) * 1000,
        "overhead_p99_ms": _percentile(overhead, 0.99) * 1000,
        "total_median_ms": statistics.median(totals) * 1000,
    }
    verdict = "ok" if result["overhead_p99_ms"] < TARGET_P99_MS else "OVER"
    print(f"   SESSION_AUTH={mode:5}  total median {result['total_median_ms']:6.2f} ms; app overhead median "
          f"{result['overhead_median_ms']:6.2f} ms, p99 {result['overhead_p99_ms']:6.2f} ms "
          f"(target p99 < {TARGET_P99_MS:.0f} ms: {verdict})")
    return result


def _entra(identity_url: str, ca_path: str, dataverse_url: str) -> tuple[str, dict[str, str]]:
    """Registrations in the stand-in (API with a secret and Dataverse consent, Dataverse, a user) and a user token."""
    with httpx.Client(base_url=identity_url, verify=ssl.create_default_context(cafile=ca_path)) as control:
        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            answer = control.post(f"/_identity/{path}", json=body)
            answer.raise_for_status()
            return answer.json()

        summary = control.get("/_identity/").json()
        tenant = summary["tenant_id"]
        crm = post("apps", {"name": "Dataverse", "identifier_uris": [dataverse_url], "scopes": ["user_impersonation"],
                            "access_token_version": 1})
        api = post("apps", {"name": "Booking sessions API", "secret": True, "identifier_uris": ["api://bench-sessions"],
                            "scopes": ["Booking.Start"], "delegated_grants": {crm["client_id"]: ["user_impersonation"]}})
        user = post("users", {"username": "bench.user@contoso.example", "name": "Bench User"})
        token = post("user-tokens", {"user": user["username"], "resource": api["client_id"],
                                     "scopes": ["Booking.Start"]})["access_token"]
    return f"Bearer {token}", {
        "SESSION_AUTH": "entra", "ENTRA_AUTHORITY": identity_url, "ENTRA_TENANT_ID": tenant,
        "SESSION_API_AUDIENCE": api["client_id"], "ENTRA_CLIENT_ID": api["client_id"],
        "ENTRA_CLIENT_SECRET": api["secret"],
    }


async def _measure(settings: dict[str, str], lead_id: str, requests: int, warmup: int,
                   authorization: str | None = None,
                   entra_options: dict[str, Any] | None = None) -> list[tuple[float, float]]:
    from devhost.functions import http_functions
    from entry.composition_root import CompositionRoot
    from http_api import build_app

    root = CompositionRoot(settings, entra_options=entra_options)
    [create_booking_session] = [f.handler for f in http_functions(build_app(root), "api")
                                if f.name == "create_booking_session"]

    waited = [0.0]
    original = httpx.AsyncHTTPTransport.handle_async_request

    async def timed(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            response = await original(self, request)
        finally:
            waited[0] += time.perf_counter() - started
        response.stream = _TimedStream(response.stream, waited)  # the body may arrive after the headers
        return response

    httpx.AsyncHTTPTransport.handle_async_request = timed  # type: ignore[method-assign]
    samples: list[tuple[float, float]] = []
    try:
        for index in range(warmup + requests):
            body = json.dumps({"regarding": {"entity": "lead", "id": lead_id}, "appointmentId": f"apt_{index}"})
            headers = {"Authorization": authorization} if authorization else {}
            request = func.HttpRequest("POST", "/api/booking-sessions", body=body.encode(), headers=headers)
            waited[0] = 0.0
            started = time.perf_counter()
            response = await create_booking_session(request)
            total = time.perf_counter() - started
            if response.status_code != 201:
                raise RuntimeError(f"benchmark request failed: {response.status_code} {response.get_body()[:200]!r}")
            if index >= warmup:
                samples.append((total, waited[0]))
    finally:
        httpx.AsyncHTTPTransport.handle_async_request = original  # type: ignore[method-assign]
        await root.aclose()
    return samples


class _TimedStream(httpx.AsyncByteStream):
    """Adds the time spent waiting for each body chunk to ``waited``."""

    def __init__(self, inner: Any, waited: list[float]) -> None:
        self._inner = inner
        self._waited = waited

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._inner.__aiter__()
        while True:
            started = time.perf_counter()
            try:
                chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            finally:
                self._waited[0] += time.perf_counter() - started
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


@contextmanager
def _served(module: str, *args: str) -> Iterator[tuple[str, str]]:
    """Run ``python -m module``; yield the loopback URL it prints once it serves, and its CA file if it names one."""
    process = subprocess.Popen(
        [sys.executable, "-m", module, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            found = _URL.search(line)
            if found:
                break
        else:
            raise RuntimeError(f"{module} exited before serving")
        ca = _CA.search(line)
        yield found.group(0), ca.group(1) if ca else ""
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _insert_lead(dataverse_url: str) -> str:
    answer = httpx.post(
        f"{dataverse_url}/api/data/v9.2/leads",
        json={"firstname": "Bench", "lastname": "Mark", "emailaddress1": "bench@example.com", "telephone1": "+15555550123"},
    )
    answer.raise_for_status()
    return answer.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")


def _insert_appointments(dataverse_url: str, lead_id: str, count: int) -> None:
    """The lead's own appointments ``apt_0``.. (a reschedule must name one of the record's appointments)."""
    from integration.appointments.keys import appointment_row_id

    with httpx.Client(base_url=f"{dataverse_url}/api/data/v9.2") as client:
        for index in range(count):
            client.post("appointments", json={
                "activityid": appointment_row_id("booking", f"apt_{index}"), "subject": "Benchmark",
                "regardingobjectid_lead_appointment@odata.bind": f"/leads({lead_id})",
            }).raise_for_status()


def _settings(dataverse_url: str, sandbox_url: str) -> dict[str, str]:
    return {
        "DATAVERSE_URL": dataverse_url,
        "DATAVERSE_AUTH": "none",
        "BOOKING_API_URL": sandbox_url + "/api",
        "BOOKING_API_KEY": API_KEY,
        "BOOKING_REDIRECT_URL": sandbox_url + "/book?session={sessionId}",
        "BOOKING_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


if __name__ == "__main__":
    run()

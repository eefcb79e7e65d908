"""Every log line of a request carries its invocation id, retries and Dataverse request ids included.

Driven through the DevHost, which passes a ``context`` as the worker does, while Dataverse
throttles, so the lines that matter most to an operator (retries) are there to check.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import azure.functions as func
import pytest

from entry.observability import OUR_LOGGERS, InvocationFilter, invocation_id
from tests.support.handlers import app_handler
from tests.support.settings import sample_schedule
from tests.support.webhooks import event, signed

SERVICE_ID = re.compile(r"service ([0-9a-f-]{36})")


@pytest.fixture
def tagged_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """caplog with the filter the app puts on the host's handlers."""
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(InvocationFilter())
    return caplog


def ours(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [r for r in records if r.name.split(".")[0] in OUR_LOGGERS]


async def test_concurrent_requests_keep_their_own_invocation_id(dataverse, http, tagged_logs) -> None:
    dataverse.faults.throttle(4, retry_after=0, method="POST", path="$batch")
    deliveries = [signed(event(f"apt_{n}", customer={"email": f"c{n}@example.com"})) for n in range(4)]

    answers = await asyncio.gather(*(http.post("/api/webhooks/appointments", content=b, headers=h) for b, h in deliveries))

    assert [a.status_code for a in answers] == [200] * 4
    records = ours(tagged_logs.records)
    summaries = [r for r in records if r.name == "http_api.invocations"]
    assert len(summaries) == 4 and {r.status for r in summaries} == {200}
    ids = {r.invocation_id for r in summaries}
    assert len(ids) == 4 and "-" not in ids
    assert all(r.function_name == "appointment_webhook" for r in records)
    for answer in answers:  # each appointment's lines all carry the id of the request that wrote it
        appointment = answer.json()["appointment"]
        about_it = [r for r in records if appointment in r.getMessage()]
        assert about_it and len({r.invocation_id for r in about_it}) == 1
    retries = [r for r in records if "retry" in r.getMessage()]
    assert len(retries) == 4 and {r.invocation_id for r in retries} <= ids
    service_ids = {m.group(1) for r in records if (m := SERVICE_ID.search(r.getMessage()))}
    assert len(service_ids) >= 8  # each Dataverse answer's x-ms-service-request-id, findable by invocation


async def test_an_outage_has_one_summary_line_with_function_status_and_duration(dataverse, http, tagged_logs) -> None:
    dataverse.faults.fail(10, status=503, retry_after=0)

    answer = await http.post("/api/schedules/import", json=sample_schedule())

    assert answer.status_code == 503
    (summary,) = [r for r in tagged_logs.records if r.name == "http_api.invocations"]
    assert (summary.function_name, summary.status) == ("import_schedules", answer.status_code)
    assert summary.duration_ms >= 0 and summary.invocation_id != "-"


async def test_a_direct_call_without_context_gets_its_own_id(app_root, tagged_logs) -> None:
    health = app_handler(app_root, "health")
    response = await health(func.HttpRequest("GET", "/api/health", body=b""))

    assert response.status_code == 200
    (summary,) = [r for r in tagged_logs.records if r.name == "http_api.invocations"]
    assert summary.function_name == "health" and len(summary.invocation_id) == 36
    assert invocation_id.get() == "-"  # the scope is closed after the request


async def test_the_context_of_the_host_names_the_invocation(app_root, tagged_logs) -> None:
    from devhost.invocation import InvocationContext

    health = app_handler(app_root, "health")
    context = InvocationContext("health")
    await health(func.HttpRequest("GET", "/api/health", body=b""), context=context)

    (summary,) = [r for r in tagged_logs.records if r.name == "http_api.invocations"]
    assert summary.invocation_id == context.invocation_id


def test_app_insights_without_its_package_is_one_warning(monkeypatch, caplog: Any) -> None:
    import builtins

    from entry import observability

    real_import = builtins.__import__

    def no_azure_monitor(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("azure.monitor"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_azure_monitor)
    caplog.set_level(logging.WARNING)

    assert observability.enable_app_insights() is False
    assert [r.levelname for r in caplog.records if r.name == "entry.observability"] == ["WARNING"]

"""Application Insights starts on the first wrapped request, once per process, and only when configured.

A fake ``azure.monitor.opentelemetry`` stands in for the real package (not installed here).
``ensure_configured`` is cached per process, so each test swaps in a fresh cached copy with
monkeypatch: the process state other tests left behind does not leak in, and is restored after.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import sys
import types
from typing import Any

import azure.functions as func
import pytest

from entry import observability
from http_api.problems import answers_problems

CONNECTION_STRING = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://example.invalid/"


@answers_problems
async def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("hi", status_code=200)


def request() -> func.HttpRequest:
    return func.HttpRequest("GET", "/api/hello", body=b"")


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if no request had been answered yet in this process."""
    per_process = observability.ensure_configured
    assert hasattr(per_process, "cache_clear"), "ensure_configured is no longer cached once per process"
    monkeypatch.setattr(observability, "ensure_configured", functools.cache(per_process.__wrapped__))


@pytest.fixture
def azure_monitor(monkeypatch: pytest.MonkeyPatch) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """A fake azure.monitor.opentelemetry; returns the calls made to configure_azure_monitor."""
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monitor = types.ModuleType("azure.monitor")
    package = types.ModuleType("azure.monitor.opentelemetry")
    package.configure_azure_monitor = lambda *args, **kwargs: calls.append((args, kwargs))  # type: ignore[attr-defined]
    monitor.opentelemetry = package  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "azure.monitor", monitor)
    monkeypatch.setitem(sys.modules, "azure.monitor.opentelemetry", package)
    return calls


@pytest.fixture
def imported(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the azure.monitor modules an import statement asks for from now on."""
    names: list[str] = []
    real_import = builtins.__import__

    def recording_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("azure.monitor"):
            names.append(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", recording_import)
    return names


async def test_app_insights_is_configured_once_on_the_first_request(monkeypatch, fresh_process, azure_monitor, imported):
    monkeypatch.setenv(observability.CONNECTION_STRING, CONNECTION_STRING)
    assert azure_monitor == [], "nothing is configured before the first request"

    assert (await hello(request())).status_code == 200
    assert len(azure_monitor) == 1
    assert imported == ["azure.monitor.opentelemetry"]

    await hello(request())
    answers = await asyncio.gather(*(hello(request()) for _ in range(5)))
    assert [a.status_code for a in answers] == [200] * 5
    assert len(azure_monitor) == 1, "configure_azure_monitor must run once per process, not per request"
    assert imported == ["azure.monitor.opentelemetry"]


async def test_without_the_setting_azure_monitor_is_never_imported(monkeypatch, fresh_process, azure_monitor, imported):
    monkeypatch.delenv(observability.CONNECTION_STRING, raising=False)

    for _ in range(3):
        assert (await hello(request())).status_code == 200
    assert imported == []
    assert azure_monitor == []


async def test_an_empty_setting_counts_as_unset(monkeypatch, fresh_process, azure_monitor, imported):
    monkeypatch.setenv(observability.CONNECTION_STRING, "")

    assert (await hello(request())).status_code == 200
    assert imported == [] and azure_monitor == []

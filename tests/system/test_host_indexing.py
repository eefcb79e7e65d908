"""The host must accept the app: index it with the real Python worker, then apply the host's rules.

Indexing runs in a fresh interpreter, as in the worker (``get_functions`` is not idempotent).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import ROOT
from tools.host_check.rules import violations

if os.environ.get("CI") in ("true", "1"):
    import azure_functions_runtime.loader  # noqa: F401  on CI a missing worker fails loudly
else:
    pytest.importorskip("azure_functions_runtime.loader")

EXPECTED = {
    # name: (route, methods, authLevel)
    "health": ("health", ["GET"], "ANONYMOUS"),
    "create_booking_session": ("booking-sessions", ["POST"], "FUNCTION"),
    "redirect_to_booking": ("booking-sessions/redirect", ["GET"], "FUNCTION"),
    "appointment_webhook": ("webhooks/appointments", ["POST"], "ANONYMOUS"),
    "import_schedules": ("schedules/import", ["POST"], "FUNCTION"),
}


def index(app_dir: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.host_check.index", str(app_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**os.environ, **environ},
    )


def http_trigger(fn: dict) -> dict:
    (trigger,) = [b for b in fn["bindings"] if b["type"] == "httpTrigger"]
    return trigger


def indexed_functions(**environ: str) -> list[dict]:
    """The app as the worker indexes it, with ``environ`` over the test's environment (storage unset unless given)."""
    base = {name: "" for name in os.environ if name.startswith("AzureWebJobsStorage")}
    done = index(ROOT, **{**base, **environ})
    assert done.returncode == 0, done.stderr[-2000:]
    functions = json.loads(done.stdout)
    assert all(fn["script_file"] == "function_app.py" for fn in functions)
    assert violations(functions) == []
    return functions


def indexed_routes(**environ: str) -> dict[str, tuple]:
    return {
        fn["name"]: (http_trigger(fn)["route"], http_trigger(fn)["methods"], http_trigger(fn)["authLevel"])
        for fn in indexed_functions(**environ)
    }


def test_worker_indexes_every_route_of_the_contract():
    assert indexed_routes(SESSION_AUTH="key") == EXPECTED


def test_with_storage_the_hourly_housekeeping_timer_is_indexed_and_without_it_absent():
    """Timers need the host's storage account, so they exist only with AzureWebJobsStorage."""
    for storage in ({"AzureWebJobsStorage": "UseDevelopmentStorage=true"},
                    {"AzureWebJobsStorage__accountName": "contosofn"}):
        functions = indexed_functions(SESSION_AUTH="key", **storage)
        background = [fn for fn in functions if not any(b["type"] == "httpTrigger" for b in fn["bindings"])]
        assert [fn["name"] for fn in background] == ["purge_webhook_deliveries"]
        [timer] = background[0]["bindings"]
        assert timer["type"] == "timerTrigger" and timer["direction"] == "IN" and timer["name"] == "timer"
        assert timer["schedule"] == "0 17 * * * *" and timer.get("runOnStartup") is False
        assert {fn["name"] for fn in functions} - {"purge_webhook_deliveries"} == set(EXPECTED)
    assert "purge_webhook_deliveries" not in {fn["name"] for fn in indexed_functions(SESSION_AUTH="key")}


def test_with_entra_sessions_the_session_route_is_anonymous_and_the_redirect_route_is_gone():
    """SESSION_AUTH is read when the worker indexes the app: the user's token replaces the function key."""
    expected = {name: route for name, route in EXPECTED.items() if name != "redirect_to_booking"}
    expected["create_booking_session"] = ("booking-sessions", ["POST"], "ANONYMOUS")
    assert indexed_routes(SESSION_AUTH="entra") == expected
    assert indexed_routes(SESSION_AUTH="Bogus") == EXPECTED  # anything else keeps the key


def test_host_json_keeps_the_api_route_prefix():
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensions"]["http"]["routePrefix"] == "api"


def test_indexing_catches_a_parameter_that_is_not_a_binding(tmp_path):
    (tmp_path / "function_app.py").write_text(textwrap.dedent("""
        import azure.functions as func
        app = func.FunctionApp()

        @app.route(route="ping")
        def ping(request: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("pong")
    """))
    done = index(tmp_path)
    assert done.returncode != 0
    assert "request" in done.stderr


def test_rules_catch_what_only_the_host_rejects(tmp_path):
    (tmp_path / "function_app.py").write_text(textwrap.dedent("""
        import azure.functions as func
        app = func.FunctionApp()

        @app.function_name(name="9lives")
        @app.route(route="admin/stats", methods=["GET"])
        def stats(req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("{}")

        @app.route(route="admin/stats", methods=["GET"])
        def again(req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("{}")

        @app.route(route="double", methods=["GET"], trigger_arg_name="my__req")
        def double(my__req: func.HttpRequest) -> func.HttpResponse:
            return func.HttpResponse("{}")
    """))
    done = index(tmp_path)
    assert done.returncode == 0, done.stderr
    problems = violations(json.loads(done.stdout))
    assert any("9lives: invalid function name" in p for p in problems)
    assert sum("/admin routes" in p for p in problems) == 2
    assert any("also served by 9lives" in p for p in problems)
    assert any("double: invalid binding name 'my__req'" in p for p in problems)

"""The project's own function_app.py, served by the devhost over real HTTP."""

from __future__ import annotations

from devhost import DevHost
from tests.support import ROOT, loopback

# Health reads settings only; an empty value counts as unset, which masks the caller's environment.
VALID = {
    "DATAVERSE_URL": "http://127.0.0.1:9", "DATAVERSE_AUTH": "none", "BOOKING_API_URL": "http://127.0.0.1:9/api",
    "BOOKING_API_KEY": "", "BOOKING_REDIRECT_URL": "https://book.example.com/start?session={sessionId}",
    "BOOKING_WEBHOOK_SECRET": "whsec_dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5", "BOOKING_SOURCE": "",
    "APPOINTMENT_VERSION_COLUMN": "",
}


def test_the_real_app_is_indexed_from_its_metadata():
    with DevHost(ROOT) as host:
        served = {f.name: f for f in host.functions}
    assert served["health"].route.template == "api/health"
    assert served["health"].auth_level == "anonymous" and served["health"].methods == frozenset({"GET"})
    assert all(f.route.template.startswith("api/") for f in served.values())


def test_health_is_200_with_valid_settings():
    with DevHost(ROOT, VALID) as host:
        resp = loopback.get(f"{host.url}/api/health")
    assert (resp.status_code, resp.json()["status"]) == (200, "ok")


def test_health_is_503_naming_the_missing_setting():
    with DevHost(ROOT, {**VALID, "BOOKING_REDIRECT_URL": ""}) as host:
        resp = loopback.get(f"{host.url}/api/health")
    assert resp.status_code == 503
    assert resp.headers["content-type"] == "application/problem+json"
    assert resp.json()["settings"] == ["BOOKING_REDIRECT_URL"]


def test_function_level_routes_of_the_real_app_need_a_key():
    with DevHost(ROOT, VALID) as host:
        function_routes = [f for f in host.functions if f.auth_level == "function"]
        assert function_routes, "the app has function-level routes"
        for function in function_routes:
            method = sorted(function.methods or {"GET"})[0]
            path = function.route.template.replace("{", "").replace("}", "")
            resp = loopback.request(method, f"{host.url}/{path}")
            assert resp.status_code == 401, function.name


def test_stopping_closes_the_storage_sessions_the_app_kept_open(azurite):
    """The app keeps its storage clients for the worker's lifetime; the worker's exit would drop
    them. The devhost's loop ends while the process goes on, so the devhost closes them itself:
    none is left to be garbage-collected later with aiohttp's "Unclosed client session" error."""
    import gc

    import aiohttp

    def open_sessions() -> list[aiohttp.ClientSession]:
        return [o for o in gc.get_objects() if isinstance(o, aiohttp.ClientSession) and not o.closed]

    before = len(open_sessions())
    with DevHost(ROOT, {**VALID, "AzureWebJobsStorage": azurite.connection_string}) as host:
        resp = loopback.get(f"{host.url}/api/health")
        assert resp.json()["storage"]["reachable"] is True  # the probe opened the app's storage sessions
        assert len(open_sessions()) > before
    assert len(open_sessions()) == before

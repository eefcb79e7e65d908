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

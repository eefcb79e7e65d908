"""Requests reach the right function of a real app over HTTP, as the Functions host routes them."""

from __future__ import annotations

import concurrent.futures
import logging

import httpx
import pytest

from devhost import DevHost
from tests.component.devhost.sample_app import KEYS, write_sample_app
from tests.support import loopback

HOST_KEY = {"x-functions-key": KEYS.host_keys["default"]}


def test_routes_methods_and_levels_come_from_the_apps_metadata(sample_host: DevHost):
    served = {f.name: (f.route.template, f.methods, f.auth_level) for f in sample_host.functions}
    assert served["echo"] == ("api/echo/{thing}", frozenset({"GET", "POST", "PUT"}), "anonymous")
    assert served["sync_echo"] == ("api/sync/{id:int}", frozenset({"POST"}), "function")
    assert served["ops_stats"] == ("api/ops/stats", frozenset({"GET"}), "admin")  # from the blueprint
    assert served["item"][1] is None  # no methods listed: every method
    assert "housekeeping" not in served  # a timer trigger is not an HTTP route


def test_route_query_headers_and_url_reach_the_function(client: httpx.Client):
    resp = client.get("/api/echo/caf%C3%A9?a=1&b=&a=2", headers={"X-Trace": "t-1"})
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    seen = resp.json()
    assert seen["method"] == "GET"
    assert seen["route"] == {"thing": "café"}
    assert seen["params"] == {"a": "1,2", "b": ""}
    assert seen["headers"]["x-trace"] == "t-1"
    assert seen["url"] == f"{client.base_url}/api/echo/caf%C3%A9?a=1&b=&a=2".replace("//api", "/api")


def test_async_functions_run_on_the_loop_and_sync_ones_in_the_pool(client: httpx.Client):
    assert not client.put("/api/echo/x").json()["thread"].startswith("devhost-sync")
    resp = client.post("/api/sync/42", headers=HOST_KEY)
    assert resp.status_code == 200
    assert resp.json()["route"] == {"id": "42"} and resp.json()["thread"].startswith("devhost-sync")


def test_sync_functions_run_concurrently(sample_host: DevHost):
    """Two calls meet at a barrier: served one after the other, the barrier breaks and both fail."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: loopback.get(f"{sample_host.url}/api/meet", timeout=10), range(2)))
    assert [a.status_code for a in answers] == [200, 200]


def test_binary_bodies_go_through_unchanged(client: httpx.Client):
    payload = bytes(range(256)) * 64
    resp = client.post("/api/binary", content=payload, headers={"content-type": "application/octet-stream"})
    assert resp.status_code == 200
    assert resp.content == payload[::-1]
    assert resp.headers["x-length"] == str(len(payload))
    echoed = client.post("/api/echo/b", content=b"\x00\xff\r\n").json()
    assert echoed["body"] == "00ff0d0a"


def test_literal_segments_win_over_parameters_and_catch_all_takes_the_rest(client: httpx.Client):
    assert client.get("/api/items/special").text == "special"
    assert client.get("/api/items/7").text == "item 7"
    assert client.get("/API/Items/Special").text == "special"  # literals match case-insensitively
    assert client.get("/api/files/a/b%20c.txt").json()["route"] == {"path": "a/b c.txt"}
    assert client.get("/api/files").json()["route"] == {}


def test_constraint_mismatch_is_not_found(client: httpx.Client):
    resp = client.post("/api/sync/abc", headers=HOST_KEY)
    assert resp.status_code == 404
    assert resp.headers["content-type"] == "application/problem+json"


def test_unknown_route_is_404_problem(client: httpx.Client):
    for path in ("/api/nothing-here", "/echo/x", "/"):
        resp = client.get(path)
        assert resp.status_code == 404
        assert resp.headers["content-type"] == "application/problem+json"
        assert resp.json()["status"] == 404


def test_wrong_method_is_405_with_allow(client: httpx.Client):
    resp = client.delete("/api/echo/x")
    assert resp.status_code == 405
    assert resp.headers["allow"] == "GET, POST, PUT"
    assert resp.json()["status"] == 405


def test_a_failing_function_gives_500_problem_without_details(client: httpx.Client, caplog):
    with caplog.at_level(logging.ERROR, logger="devhost"):
        resp = client.get("/api/boom")
    assert resp.status_code == 500
    assert resp.headers["content-type"] == "application/problem+json"
    assert "secret-detail" not in resp.text and "Traceback" not in resp.text
    assert "RuntimeError" in caplog.text and "secret-detail" not in caplog.text


def test_return_values_are_converted_like_the_http_output_binding(client: httpx.Client):
    resp = client.get("/api/plain-text")
    assert (resp.status_code, resp.text, resp.headers["content-type"]) == (200, "just text", "text/plain; charset=utf-8")
    assert client.get("/api/not-a-response").status_code == 500


def test_bodies_over_the_cap_are_refused_with_413(client: httpx.Client):
    resp = client.post("/api/echo/big", content=b"x" * (1024 * 1024 + 1))
    assert resp.status_code == 413
    assert resp.headers["content-type"] == "application/problem+json"

    def chunks():
        for _ in range(20):
            yield b"y" * 65536  # no Content-Length: counted while read

    assert client.post("/api/echo/big", content=chunks()).status_code == 413
    assert client.post("/api/echo/ok", content=b"z" * (1024 * 1024)).status_code == 200


def test_one_log_line_per_request_without_query_or_key(client: httpx.Client, caplog):
    key = KEYS.host_keys["default"]
    with caplog.at_level(logging.INFO, logger="devhost.requests"):
        client.post(f"/api/sync/5?code={key}&email=ana@example.com", content=b"ana@example.com")
    lines = [r.getMessage() for r in caplog.records if r.name == "devhost.requests"]
    assert len(lines) == 1
    assert lines[0].startswith("POST sync_echo api/sync/{id:int} 200 ") and lines[0].endswith("ms")
    assert key not in caplog.text and "ana@example.com" not in caplog.text


def test_route_prefix_comes_from_host_json(tmp_path):
    app_dir = write_sample_app(tmp_path / "app", host_json='{"version": "2.0", "extensions": {"http": {"routePrefix": "v1"}}}')
    with DevHost(app_dir) as host:
        assert loopback.get(f"{host.url}/v1/items/3").text == "item 3"
        assert loopback.get(f"{host.url}/api/items/3").status_code == 404
    (app_dir / "host.json").write_text('{"version": "2.0", "extensions": {"http": {"routePrefix": ""}}}')
    with DevHost(app_dir) as host:
        assert loopback.get(f"{host.url}/items/3").text == "item 3"


def test_cors_from_settings_answers_preflight(tmp_path):
    from devhost.cors import CorsPolicy

    origin = "https://contoso.crm.dynamics.com"
    with DevHost(write_sample_app(tmp_path / "app"), cors=CorsPolicy((origin,))) as host:
        preflight = httpx.options(f"{host.url}/api/sync/1", headers={
            "origin": origin, "access-control-request-method": "POST",
            "access-control-request-headers": "x-functions-key, content-type"})
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == origin
        assert "x-functions-key" in preflight.headers["access-control-allow-headers"]
        assert loopback.get(f"{host.url}/api/items/1", headers={"origin": origin}).headers[
            "access-control-allow-origin"] == origin
        stranger = loopback.get(f"{host.url}/api/items/1", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in stranger.headers


def test_apps_the_host_would_refuse_are_refused_at_start(tmp_path):
    from devhost.functions import AppLoadError

    broken = {
        "route": ('@app.route(route="admin/stats")\ndef stats(req):\n    return "x"\n', "built-in /admin"),
        "arg": ('@app.route(route="x")\ndef x(request):\n    return "x"\n', "not a parameter"),
        "two": ('other = func.FunctionApp()\n', "More than one FunctionApp"),
        "syntax": ('def broken(:\n', "importing"),
    }
    for case, (code, message) in broken.items():
        app_dir = tmp_path / case
        app_dir.mkdir()
        (app_dir / "function_app.py").write_text(f"import azure.functions as func\napp = func.FunctionApp()\n{code}")
        with pytest.raises(AppLoadError, match=message):
            DevHost(app_dir).start()

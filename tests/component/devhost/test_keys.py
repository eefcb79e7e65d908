"""Function keys are checked as in Azure: header or code query, per auth level."""

from __future__ import annotations

import json
import stat

import httpx
import pytest

from devhost.keys import HostKeys, KeysError, load_or_create_keys
from tests.component.devhost.sample_app import KEYS

MASTER = KEYS.master_key
HOST = KEYS.host_keys["default"]
SYNC_ONLY = KEYS.function_keys["sync_echo"]["default"]


@pytest.mark.parametrize("how", ["header", "query"])
def test_a_host_key_opens_function_level_routes(client: httpx.Client, how: str):
    if how == "header":
        resp = client.get("/api/other", headers={"x-functions-key": HOST})
    else:
        resp = client.get("/api/other", params={"code": HOST})
    assert (resp.status_code, resp.text) == (200, "other")


@pytest.mark.parametrize("headers, params", [
    ({}, {}),
    ({"x-functions-key": "wrong-key-0123456789abcdef"}, {}),
    ({}, {"code": "wrong"}),
    ({"x-functions-key": ""}, {}),
    ({"x-functions-key": "wrong-key-0123456789abcdef"}, {"code": HOST}),  # a header that is present decides
])
def test_missing_or_wrong_key_is_401_problem(client: httpx.Client, headers, params):
    resp = client.get("/api/other", headers=headers, params=params)
    assert resp.status_code == 401
    assert resp.headers["content-type"] == "application/problem+json"
    assert HOST not in resp.text and MASTER not in resp.text


def test_function_keys_open_only_their_own_function(client: httpx.Client):
    assert client.post("/api/sync/1", headers={"x-functions-key": SYNC_ONLY}).status_code == 200
    assert client.get("/api/other", headers={"x-functions-key": SYNC_ONLY}).status_code == 401


def test_anonymous_routes_need_no_key(client: httpx.Client):
    assert client.get("/api/items/1").status_code == 200
    assert client.get("/api/items/1", params={"code": "whatever"}).status_code == 200


def test_admin_level_needs_the_master_key(client: httpx.Client):
    assert client.get("/api/ops/stats", headers={"x-functions-key": HOST}).status_code == 401
    assert client.get("/api/ops/stats", headers={"x-functions-key": SYNC_ONLY}).status_code == 401
    assert client.get("/api/ops/stats", headers={"x-functions-key": MASTER}).status_code == 200
    assert client.get("/api/other", params={"code": MASTER}).status_code == 200


def test_keys_file_is_created_once_private_and_then_reused(tmp_path):
    path = tmp_path / ".run" / "keys.json"
    created = load_or_create_keys(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_keys(path) == created
    assert created.default_key == json.loads(path.read_text())["hostKeys"]["default"]
    assert created.master_key != created.default_key and len(created.master_key) >= 32


def test_a_broken_keys_file_is_a_clear_error_without_key_material(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"masterKey": "short-secret", "hostKeys": {}}))
    with pytest.raises(KeysError) as caught:
        load_or_create_keys(path)
    assert str(path) in str(caught.value) and "short-secret" not in str(caught.value)
    path.write_text("{not json")
    with pytest.raises(KeysError):
        load_or_create_keys(path)


def test_key_comparison_is_exact():
    keys = HostKeys.model_validate({"masterKey": "m" * 20, "hostKeys": {"default": "h" * 20}})
    assert keys.accepts("function", "f", "h" * 20)
    assert not keys.accepts("function", "f", "h" * 19)
    assert not keys.accepts("function", "f", "h" * 21)
    assert not keys.accepts("function", "f", "H" * 20)
    assert not keys.accepts("function", "f", None)
    assert keys.accepts("anonymous", "f", None)
    assert not keys.accepts("admin", "f", "h" * 20)

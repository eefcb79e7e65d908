"""Function-key routes through the DevHost: no key, a wrong key or another function's key is 401.

Each refusal is checked against Dataverse's request log (nothing read) and paired with the
same request carrying a valid key, so the 401 is the key's doing.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.system.hostile.answers import assert_contract_answer, assert_rejected
from tests.system.hostile.stage import KEYS, LEAD_ID

IMPORT_KEY = KEYS["functionKeys"]["import_schedules"]["default"]
ROUTES = {
    "create_booking_session": ("POST", "/api/booking-sessions", {"json": {"regarding": {"entity": "lead", "id": LEAD_ID}}}),
    "redirect_to_booking": ("GET", "/api/booking-sessions/redirect", {"params": {"entity": "lead", "id": LEAD_ID}}),
    "import_schedules": ("POST", "/api/schedules/import", {"json": {"source": "wem", "agents": []}}),
}
WRONG = {
    "no key": {},
    "wrong header key": {"headers": {"x-functions-key": "not-the-key-0123456789"}},
    "wrong code parameter": {"params": {"code": "not-the-key-0123456789"}},
    "empty header key": {"headers": {"x-functions-key": ""}},
    "host key with a suffix": {"headers": {"x-functions-key": KEYS["hostKeys"]["default"] + "x"}},
    "host key prefix": {"headers": {"x-functions-key": KEYS["hostKeys"]["default"][:-1]}},
    "host key in another case": {"headers": {"x-functions-key": KEYS["hostKeys"]["default"].upper()}},
    "wrong header beats a right code": {
        "headers": {"x-functions-key": "not-the-key-0123456789"}, "params": {"code": KEYS["hostKeys"]["default"]}},
    "key as bearer token": {"headers": {"authorization": f"Bearer {KEYS['hostKeys']['default']}"}},
}
RIGHT = {
    "host key header": {"headers": {"x-functions-key": KEYS["hostKeys"]["default"]}},
    "host key code": {"params": {"code": KEYS["hostKeys"]["default"]}},
    "master key": {"headers": {"x-functions-key": KEYS["masterKey"]}},
}


def call(http: httpx.Client, function: str, auth: dict[str, Any]) -> httpx.Response:
    method, path, request = ROUTES[function]
    params = {**request.get("params", {}), **auth.get("params", {})}
    return http.request(
        method, path, json=request.get("json"), params=params or None, headers=auth.get("headers"), follow_redirects=False
    )


@pytest.mark.parametrize("function", ROUTES)
@pytest.mark.parametrize("wrong", WRONG)
def test_without_a_valid_key_the_route_is_401(http: httpx.Client, dv: Any, function: str, wrong: str) -> None:
    assert_rejected(call(http, function, WRONG[wrong]), 401)
    assert dv.count() == 0


@pytest.mark.parametrize("function", ROUTES)
@pytest.mark.parametrize("right", RIGHT)
def test_with_a_valid_key_the_request_reaches_the_function(http: httpx.Client, function: str, right: str) -> None:
    answer = call(http, function, RIGHT[right])
    assert_contract_answer(answer)
    assert answer.status_code in (200, 201, 302), answer.text


@pytest.mark.parametrize("function", ["create_booking_session", "redirect_to_booking"])
def test_one_function_key_does_not_open_another_function(http: httpx.Client, dv: Any, function: str) -> None:
    assert_rejected(call(http, function, {"headers": {"x-functions-key": IMPORT_KEY}}), 401)
    assert dv.count() == 0
    assert call(http, "import_schedules", {"headers": {"x-functions-key": IMPORT_KEY}}).status_code == 200


@pytest.mark.parametrize("path", ["/api/health", "/api/webhooks/appointments"])
def test_anonymous_routes_need_no_key(http: httpx.Client, path: str) -> None:
    """Health answers; the webhook refuses for want of a signature (401 from the app, not the host)."""
    answer = http.get(path) if path.endswith("health") else http.post(path, json={})
    assert_contract_answer(answer)
    assert answer.status_code == (200 if path.endswith("health") else 401)
    if answer.status_code == 401:
        assert answer.json()["title"] == "Invalid webhook signature"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/schedules/import"), ("DELETE", "/api/booking-sessions"), ("PUT", "/api/webhooks/appointments"),
     ("GET", "/api/nothing-here"), ("GET", "/api/admin/functions"), ("POST", "/api/health")],
)
def test_unknown_paths_and_methods_are_problems(http: httpx.Client, dv: Any, method: str, path: str) -> None:
    answer = http.request(method, path, headers={"x-functions-key": KEYS["hostKeys"]["default"]})
    assert_contract_answer(answer)
    assert answer.status_code in (404, 405)
    assert dv.count() == 0

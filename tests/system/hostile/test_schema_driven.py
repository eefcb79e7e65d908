"""Schemathesis against openapi.yaml: every operation, valid and invalid requests, through the DevHost.

Requests come from the spec (positive and negative generation, the spec's examples first),
go over real HTTP to the app, and the app talks to the Dataverse emulator and the booking
sandbox. Webhook bodies are signed with the current secret so they reach the parser; the
other routes carry the host key. Every answer must keep the error rules of docs/spec.md#2-http-api and
conform to the spec (documented status, content type, schema and headers).
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core import NotSet
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import ROOT
from tests.system.hostile.answers import problem_violations
from tests.system.hostile.signing import signed_headers
from tests.system.hostile.stage import CURRENT_SECRET

SPEC = ROOT / "openapi.yaml"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


def _schema() -> Any:
    loaded = schemathesis.openapi.from_path(SPEC)
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], deterministic=True, database="none"
    )
    return loaded


schema = _schema()


def _send(case: Any, host: Any) -> Any:
    """Call the operation as its legitimate caller would: signed webhook, or the host key."""
    base_url = f"{host.url}/api"
    if case.operation.path != "/webhooks/appointments":
        return case.call(base_url=base_url, headers={"x-functions-key": host.keys.default_key}, allow_redirects=False)
    header_info = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    if header_info is not None and header_info.mode == GenerationMode.NEGATIVE:
        return case.call(base_url=base_url)  # the generated, invalid signature headers: must be 401
    if isinstance(case.body, NotSet):
        body = b""
    elif isinstance(case.body, bytes):  # a negative case may be raw bytes rather than JSON
        body = case.body
    else:
        body = json.dumps(case.body, allow_nan=True).encode()
    return case.call(base_url=base_url, headers=signed_headers(body, CURRENT_SECRET), data=body)


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_keeps_the_contract(case: Any, host: Any, dv: Any) -> None:
    response = _send(case, host)
    violations = problem_violations(response.status_code, _Headers(response.headers), response.content)
    assert not violations, f"{case.operation.label}: {violations}\n{case.as_curl_command()}\n{response.text[:500]}"
    case.validate_response(response, checks=CHECKS)  # openapi.yaml: data is read only for handled types


class _Headers:
    """Schemathesis keeps headers as lists per lower-case name; the contract checks read single values."""

    def __init__(self, headers: dict[str, list[str]]) -> None:
        self._headers = {name.lower(): values for name, values in headers.items()}

    def get(self, name: str, default: str = "") -> str:
        values = self._headers.get(name.lower())
        return ", ".join(values) if values else default

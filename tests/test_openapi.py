"""openapi.yaml stays in step with the app: its routes, and the pydantic models at the edges.

The spec is written by hand for readers; these tests make any drift fail. Request and
response schemas are compared with ``model_json_schema()`` on the keywords that decide what
is accepted: property names, required lists, enums, types, nullability, lengths, patterns,
formats and array limits. Where the spec deliberately says more than JSON Schema can learn
from a model (a spelling the model accepts through a validator, a pattern checked in code),
the difference is listed below and checked against the code's behaviour.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from openapi_spec_validator import validate
from pydantic import TypeAdapter

from integration.appointments.events import AppointmentData, AppointmentEvent
from integration.booking_sessions import BookingSession, BookingSessionRequest
from integration.schedules import payload
from integration.schedules.importer import ImportSummary

ROOT = Path(__file__).resolve().parent.parent
COMPARED = ("type", "enum", "required", "minLength", "maxLength", "pattern", "maxItems", "format")
SPELLINGS = {"canceled": "cancelled"}
"""Accepted spellings the spec lists in enums and the models map through a BeforeValidator."""


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))


def _resolve(node: Any, root: dict[str, Any]) -> Any:
    """``node`` with every local ``$ref`` inlined (both documents use only local refs)."""
    if isinstance(node, list):
        return [_resolve(item, root) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _resolve(target, root)
    return {key: _resolve(value, root) for key, value in node.items()}


def essentials(schema: Any) -> Any:
    """The keywords that decide acceptance, recursively; enums without accepted alternate spellings."""
    if isinstance(schema, list):
        return [essentials(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    kept: dict[str, Any] = {}
    for key in COMPARED:
        if key in schema:
            kept[key] = sorted(schema[key]) if key in ("required", "enum") else schema[key]
    if "enum" in kept:
        kept["enum"] = sorted(v for v in kept["enum"] if SPELLINGS.get(v) not in kept["enum"])
    if "properties" in schema:
        kept["properties"] = {name: essentials(sub) for name, sub in schema["properties"].items()}
    if "items" in schema and schema["items"]:
        kept["items"] = essentials(schema["items"])
    if "anyOf" in schema:
        kept["anyOf"] = essentials(schema["anyOf"])
    return kept


def spec_schema(spec: dict[str, Any], name: str) -> Any:
    return essentials(_resolve(spec["components"]["schemas"][name], spec))


def model_schema(model: Any, mode: str = "validation") -> Any:
    raw = model.model_json_schema(mode=mode)
    return _resolve({k: v for k, v in raw.items() if k != "$defs"}, raw)


def response_schema(model: Any) -> Any:
    """A response model dumps every field, so every field is required on the wire."""
    schema = essentials(model_schema(model, "serialization"))
    schema["required"] = sorted(schema["properties"])
    for sub in schema["properties"].values():
        if "properties" in sub:
            sub["required"] = sorted(sub["properties"])
        if "properties" in sub.get("items", {}):
            sub["items"]["required"] = sorted(sub["items"]["properties"])
    return schema


def import_request_schema() -> Any:
    """The import is validated in layers (envelope, then agents, then segments); here they are one schema."""
    envelope = model_schema(payload._Envelope)
    agent = model_schema(payload.Agent)
    agent["properties"]["email"]["pattern"] = payload._EMAIL.pattern  # checked by a field validator
    envelope["properties"]["agents"]["items"] = agent
    return essentials(envelope)


def test_the_spec_is_a_valid_openapi_document(spec: dict[str, Any]) -> None:
    validate(spec)


def test_every_route_of_the_app_is_in_the_spec_with_its_methods_and_auth(spec: dict[str, Any]) -> None:
    from devhost.functions import load_http_functions

    prefix = spec["servers"][0]["url"].rsplit("/", 1)[-1]
    app_routes = {}
    for function in load_http_functions(ROOT):
        path = "/" + function.route.template.removeprefix(prefix + "/")
        for method in function.methods or ():
            app_routes[(path, method.lower())] = function.auth_level
    spec_routes = {
        (path, method): "anonymous" if operation.get("security", spec["security"]) == [] else "function"
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    assert spec_routes == app_routes


@pytest.mark.parametrize(
    ("name", "model"),
    [("BookingSessionRequest", BookingSessionRequest), ("AppointmentEvent", AppointmentEvent)],
)
def test_request_schemas_match_the_models(spec: dict[str, Any], name: str, model: Any) -> None:
    assert spec_schema(spec, name) == essentials(model_schema(model))


def test_schedule_import_schema_matches_the_payload_models(spec: dict[str, Any]) -> None:
    assert spec_schema(spec, "ScheduleImport") == import_request_schema()


@pytest.mark.parametrize(
    ("name", "model"), [("BookingSession", BookingSession), ("ScheduleImportResult", ImportSummary)]
)
def test_response_schemas_match_the_models(spec: dict[str, Any], name: str, model: Any) -> None:
    assert spec_schema(spec, name) == response_schema(model)


def test_webhook_results_are_the_flow_results(spec: dict[str, Any]) -> None:
    from integration.appointments.sync import Result

    schema = spec["components"]["schemas"]["AppointmentSyncResult"]
    assert set(schema["properties"]["result"]["enum"]) == {*get_args(Result), "ignored"}


def test_redirect_query_parameters_match_the_request_model(spec: dict[str, Any]) -> None:
    params = {p["name"]: p for p in spec["paths"]["/booking-sessions/redirect"]["get"]["parameters"]}
    request = model_schema(BookingSessionRequest)
    regarding = request["properties"]["regarding"]["properties"]
    appointment = request["properties"]["appointmentId"]["anyOf"][0]
    assert params["entity"]["schema"]["enum"] == regarding["entity"]["enum"]
    assert params["id"]["schema"]["format"] == regarding["id"]["format"] == "uuid"
    assert params["appointmentId"]["schema"]["maxLength"] == appointment["maxLength"]
    assert params["appointmentId"]["schema"]["pattern"] == appointment["pattern"].replace("+$", "*$")  # empty = none


def test_spellings_the_spec_lists_are_accepted_by_the_models(spec: dict[str, Any]) -> None:
    status_enum = spec["components"]["schemas"]["AppointmentData"]["properties"]["status"]["enum"]
    state_enum = spec["components"]["schemas"]["Segment"]["properties"]["state"]["enum"]
    data = {"appointmentId": "a", "updatedAt": "2026-01-15T14:03:20Z", "start": "2026-01-20T15:00:00Z",
            "end": "2026-01-20T16:00:00Z", "customer": {"email": "a@b.example"}}
    for status in status_enum:
        accepted = AppointmentData.model_validate_json(json.dumps({**data, "status": status}))
        assert accepted.status == SPELLINGS.get(status, status)
    for state in state_enum:
        segment = TypeAdapter(payload.Segment).validate_python(
            {"activity": "a", "available": True, "state": state,
             "start": "2026-11-16T14:00:00Z", "end": "2026-11-16T15:00:00Z"}
        )
        assert segment.state == SPELLINGS.get(state, state)


def test_examples_in_the_spec_are_valid_requests(spec: dict[str, Any]) -> None:
    """The examples are what the schemathesis run sends first; they must pass the app's own validation."""
    from integration.appointments.events import parse_event

    paths = spec["paths"]
    BookingSessionRequest.model_validate(paths["/booking-sessions"]["post"]["requestBody"]["content"]["application/json"]["example"])
    event = paths["/webhooks/appointments"]["post"]["requestBody"]["content"]["application/json"]["example"]
    assert parse_event(json.dumps(event).encode()) is not None
    payload.validate_import(paths["/schedules/import"]["post"]["requestBody"]["content"]["application/json"]["example"])


def test_a_drifted_model_is_caught(spec: dict[str, Any]) -> None:
    """The comparison is not vacuous: a renamed property, a new required field or a new enum value differ."""
    expected = essentials(model_schema(BookingSessionRequest))
    renamed = {**expected, "properties": {**expected["properties"], "appointmentRef": expected["properties"]["appointmentId"]}}
    del renamed["properties"]["appointmentId"]
    required = {**expected, "required": ["appointmentId", "regarding"]}
    regarding = expected["properties"]["regarding"]
    widened = {**expected, "properties": {**expected["properties"], "regarding": {
        **regarding, "properties": {**regarding["properties"], "entity": {"type": "string", "enum": ["account", "contact", "lead"]}}}}}
    actual = spec_schema(spec, "BookingSessionRequest")
    assert actual == expected
    for drifted in (renamed, required, widened):
        assert actual != drifted

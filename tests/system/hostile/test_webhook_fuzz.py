"""Validly signed, randomly broken webhook deliveries: the parser is reached and answers by the contract.

Every body is signed with the current secret, so the signature check lets it through and
the JSON parser and the event model face it. An answer is 200 (applied or ignored) or a 400
problem listing what is wrong; never a 5xx.
"""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import example, given
from hypothesis import strategies as st

from tests.support.webhooks import booking_event
from tests.system.hostile.answers import assert_contract_answer
from tests.system.hostile.bodies import nested_arrays
from tests.system.hostile.fuzzing import FUZZ, encode, hostile_values, json_values, mutated
from tests.system.hostile.routes import WEBHOOK
from tests.system.hostile.signing import signed_headers
from tests.system.hostile.stage import CURRENT_SECRET, LEAD_ID

WEBHOOK_BODY_LIMIT = 256 * 1024  # the webhook's documented body limit (docs/appointment-webhook.md)
VALID_EVENT = booking_event("appointment.updated", appointmentId="apt_fuzz", notes="free text",
                            crmReference={"entity": "lead", "id": LEAD_ID})


def deliver(http: httpx.Client, body: bytes) -> httpx.Response:
    answer = http.post(WEBHOOK, content=body, headers=signed_headers(body, CURRENT_SECRET))
    assert_contract_answer(answer)
    if len(body) > WEBHOOK_BODY_LIMIT:  # a mutation may grow the body past the limit: that is a 413
        assert answer.status_code == 413, answer.text[:300]
    else:
        assert answer.status_code in (200, 400), answer.text[:300]
    return answer


@FUZZ
@given(event=mutated(VALID_EVENT))
def test_a_mutated_event_is_applied_or_refused_with_its_problems(http: httpx.Client, event: dict[str, Any]) -> None:
    answer = deliver(http, encode(event))
    if answer.status_code == 400:
        assert answer.json()["errors"], "a 400 lists what is wrong"


@FUZZ
@given(document=json_values)
def test_any_json_document_is_answered_by_the_contract(http: httpx.Client, document: Any) -> None:
    deliver(http, encode(document))


@FUZZ
@given(data=hostile_values)
def test_a_handled_type_with_any_data_is_answered_by_the_contract(http: httpx.Client, data: Any) -> None:
    deliver(http, encode({"type": "appointment.created", "data": data}))


@FUZZ
@given(body=st.binary(max_size=2_000))
@example(body=b"\xff" * 10)
@example(body=encode(VALID_EVENT)[:-1])
def test_any_bytes_are_answered_by_the_contract(http: httpx.Client, body: bytes) -> None:
    deliver(http, body)


def test_the_valid_event_itself_is_applied(http: httpx.Client, dv: Any) -> None:
    """Control: the event the mutations start from is accepted, so mutations test what breaks it."""
    assert deliver(http, encode(VALID_EVENT)).json()["result"] == "created"
    assert len(dv.rows("appointments")) == 1


def test_nested_data_is_refused(http: httpx.Client) -> None:
    """Nesting inside a member the model reads, shallow enough for Python's json (see test_malformed_bodies)."""
    body = b'{"type": "appointment.created", "data": ' + nested_arrays(500) + b"}"
    assert deliver(http, body).status_code == 400

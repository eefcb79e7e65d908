"""$batch serialisation and answer parsing, without HTTP."""

import httpx
import pytest

from dataverse import errors, request_builders
from dataverse.batch import ChangeSet, build, parse

ID = "6f9619ff-8b86-d011-b42d-00c04fc964ff"


def test_batch_body_uses_crlf_content_ids_and_relative_paths():
    request, sizes = build(
        [request_builders.retrieve("leads", ID), ChangeSet([request_builders.create("appointments", {"subject": "s"}), request_builders.update("leads", ID, {"a": 1})])],
        continue_on_error=True,
    )
    body = request.content.decode()
    assert "\n" not in body.replace("\r\n", "")
    boundary = request.headers["Content-Type"].split("boundary=")[1]
    assert body.startswith(f"--{boundary}\r\n") and body.endswith(f"--{boundary}--\r\n")
    assert f"GET /api/data/v9.2/leads({ID}) HTTP/1.1" in body
    assert "Content-ID: 2\r\n\r\nPOST /api/data/v9.2/appointments HTTP/1.1" in body
    assert "Content-ID: 3\r\n\r\nPATCH /api/data/v9.2/leads(" in body
    assert 'Content-Type: application/json; type=entry\r\n\r\n{"subject":"s"}' in body
    assert request.headers["Prefer"] == "odata.continue-on-error"
    assert sizes == [1, 2] and request.path == "$batch"
    assert not request.idempotent, "a plain create makes the whole batch non-retryable"


def test_references_to_earlier_operations_go_out_unchanged():
    ref = request_builders.Request("POST", "$1/appointment_activity_parties", json={"participationtypemask": 5})
    body = build([ChangeSet([request_builders.create("appointments", {}), ref])])[0].content.decode()
    assert "POST $1/appointment_activity_parties HTTP/1.1" in body


def test_batch_limits():
    with pytest.raises(ValueError):
        build([])
    with pytest.raises(ValueError):
        build([request_builders.retrieve("leads", ID)] * 1001)
    with pytest.raises(ValueError):
        ChangeSet([request_builders.retrieve("leads", ID)])
    assert build([request_builders.update("leads", ID, {})] * 1000)[0].idempotent


def _answer(status: int, body: str, boundary: str = "batchresponse_1") -> httpx.Response:
    return httpx.Response(
        status, headers={"Content-Type": f"multipart/mixed; boundary={boundary}"}, content=body.replace("\n", "\r\n").encode()
    )


def test_parse_plain_and_changeset_parts():
    answer = _answer(200, f"""--batchresponse_1
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 200 OK
Content-Type: application/json; odata.metadata=minimal

{{"leadid":"{ID}","subject":"x"}}
--batchresponse_1
Content-Type: multipart/mixed; boundary=changesetresponse_2

--changesetresponse_2
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 3

HTTP/1.1 204 No Content
OData-Version: 4.0

--changesetresponse_2
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 2

HTTP/1.1 204 No Content
OData-EntityId: http://x/api/data/v9.2/appointments({ID})

--changesetresponse_2--
--batchresponse_1--
""")
    first, second, third = parse(answer, [1, 2])
    assert (first.status, first.json["subject"]) == (200, "x")
    assert second.status == 204 and second.entity_id == ID, "matched by Content-ID, not by order"
    assert third.status == 204 and third.entity_id is None and third.ok


def test_parse_stop_on_error_marks_later_operations_unexecuted():
    answer = _answer(400, """--batchresponse_1
Content-Type: application/http
Content-Transfer-Encoding: binary

HTTP/1.1 400 Bad Request
REQ_ID: 5d6c4c7f-0000-0000-0000-000000000000
Content-Type: application/json; odata.metadata=minimal

{"error":{"code":"0x80044331","message":"A validation error occurred."}}
--batchresponse_1--
""")
    failed, skipped = parse(answer, [1, 1])
    assert isinstance(failed.error, errors.BadRequest) and failed.error.code == "0x80044331"
    assert failed.error.service_request_id == "5d6c4c7f-0000-0000-0000-000000000000"
    assert not skipped.executed
    with pytest.raises(errors.BadRequest):
        failed.raise_for_error()
    with pytest.raises(errors.DataverseError):
        skipped.raise_for_error()


def test_a_failed_changeset_fails_each_of_its_operations():
    answer = _answer(400, """--batchresponse_1
Content-Type: application/http

HTTP/1.1 412 Precondition Failed

{"error":{"code":"0x80040237","message":"A record with matching key values already exists."}}
--batchresponse_1--
""")
    results = parse(answer, [3])
    assert len(results) == 3 and all(isinstance(x.error, errors.Duplicate) for x in results)


def test_a_non_multipart_batch_error_raises():
    answer = httpx.Response(400, json={"error": {"code": "0x80048d19", "message": "Stream was not readable"}})
    with pytest.raises(errors.BadRequest):
        parse(answer, [1])


def test_garbage_parts_do_not_crash_the_parser():
    answer = _answer(200, "--batchresponse_1\nContent-Type: application/http\n\nnot http at all\n--batchresponse_1--\n")
    (result,) = parse(answer, [1])
    assert result.status is None and result.error is not None

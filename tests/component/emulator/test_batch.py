"""$batch: CRLF framing, atomic changesets, $n references, limits and error modes (docs/dataverse-webapi.md#5-batch, #128-batch)."""

from __future__ import annotations

import re

import pytest

from tests.component.emulator.web_api import API, batch, changeset, error_of, part


def statuses(response) -> list[int]:
    return [int(s) for s in re.findall(r"HTTP/1\.1 (\d{3}) ", response.text)]


def test_plain_parts_run_in_order(api, dataverse):
    """docs/dataverse-webapi.md#51-batch-request, #52-batch-response: GET and POST parts, answered in a multipart/mixed response with Location headers."""
    response = batch(api, part("POST", f"{API}leads", {"firstname": "A"}), part("GET", f"{API}leads?$select=firstname"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("multipart/mixed; boundary=batchresponse_")
    assert statuses(response) == [204, 200]
    assert "OData-EntityId: " in response.text and "Location: " in response.text
    assert '"firstname":"A"' in response.text


def test_bare_lf_is_not_readable(api, dataverse):
    """docs/dataverse-webapi.md#51-batch-request, #83-error-codes: LF-only framing is 400 0x80048d19 'Stream was not readable'."""
    response = batch(api, part("POST", f"{API}leads", {"firstname": "A"}), newline="\n")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "0x80048d19" and "Stream was not readable" in error["message"]
    assert dataverse.rows("leads") == []


def test_changeset_references_and_atomicity(api, dataverse):
    """docs/dataverse-webapi.md#51-batch-request, #128-batch: $1 as a bind value and as a URL prefix; all parts committed together."""
    lead = dataverse.insert("leads", {"firstname": "Ana"})
    response = batch(api, changeset(
        part("POST", f"{API}appointments", {"subject": "x", "regardingobjectid_lead_appointment@odata.bind": f"/leads({lead})"}, "1"),
        part("POST", f"{API}activityparties", {"activityid_appointment@odata.bind": "$1", "partyid_lead@odata.bind": f"/leads({lead})", "participationtypemask": 5}, "2"),
        part("PATCH", "$1", {"statecode": 2, "statuscode": 4}, "3"),
    ))
    assert response.status_code == 200, response.text
    assert "changesetresponse_" in response.text and statuses(response) == [204, 204, 204]
    assert re.findall(r"Content-ID: (\d)", response.text) == ["1", "2", "3"]
    [appointment] = dataverse.rows("appointments")
    assert (appointment["statecode"], appointment["statuscode"]) == (2, 4)
    [party] = dataverse.rows("activityparties")
    assert party["_activityid_value"] == appointment["activityid"]


def test_failed_changeset_rolls_back_everything(api, dataverse):
    """docs/dataverse-webapi.md#52-batch-response, #128-batch: one failing part undoes the changeset; the answer is the failing part alone, outer 400."""
    response = batch(api, changeset(
        part("POST", f"{API}leads", {"firstname": "A"}, "1"),
        part("PATCH", "$1", {"lastname": "B"}, "2"),
        part("POST", f"{API}appointments", {"subject": "s" * 201}, "3"),
    ))
    assert response.status_code == 400
    assert statuses(response) == [400]
    assert "0x80044331" in response.text and "REQ_ID: " in response.text
    assert "changesetresponse_" not in response.text, "docs/dataverse-webapi.md#52-batch-response: the failing part alone, no changeset wrapper"
    assert dataverse.rows("leads") == [] and dataverse.rows("appointments") == []


def test_stop_on_first_error(api, dataverse):
    """docs/dataverse-webapi.md#52-batch-response: without continue-on-error the outer answer is 400 and later parts do not run."""
    response = batch(api, part("POST", f"{API}leads", {"firstname": "A"}), part("POST", f"{API}leads", {"nickname": "x"}), part("POST", f"{API}leads", {"firstname": "C"}))
    assert response.status_code == 400
    assert statuses(response) == [204, 400]
    assert [r["firstname"] for r in dataverse.rows("leads")] == ["A"]


def test_continue_on_error(api, dataverse):
    """docs/dataverse-webapi.md#51-batch-request, #52-batch-response: Prefer odata.continue-on-error runs every part and answers 200."""
    response = batch(api, part("POST", f"{API}leads", {"firstname": "A"}), part("POST", f"{API}leads", {"nickname": "x"}), part("POST", f"{API}leads", {"firstname": "C"}), prefer="odata.continue-on-error")
    assert response.status_code == 200
    assert statuses(response) == [204, 400, 204]
    assert sorted(r["firstname"] for r in dataverse.rows("leads")) == ["A", "C"]


@pytest.mark.parametrize(("parts", "message"), [
    ((changeset(part("GET", f"{API}leads", None, "1")),), "GET requests are not allowed inside a changeset"),
    ((changeset(part("POST", f"{API}leads", {"firstname": "A"})),), "Content-ID header not present"),
    ((changeset(part("POST", f"{API}leads", {}, "1"), part("POST", f"{API}leads", {}, "1")),), "more than once"),
])
def test_invalid_changesets_are_400(api, dataverse, parts, message):
    """docs/dataverse-webapi.md#51-batch-request: GET in a changeset, a missing or repeated Content-ID; nothing runs."""
    response = batch(api, *parts)
    assert response.status_code == 400
    assert message in error_of(response)["message"]
    assert dataverse.rows("leads") == []


def test_unknown_reference_fails_the_changeset(api, dataverse):
    """docs/dataverse-webapi.md#51-batch-request: an unknown $n is 400 'Content-ID Reference ... does not exist'."""
    response = batch(api, changeset(part("POST", f"{API}leads", {"firstname": "A"}, "1"), part("PATCH", "$7", {"firstname": "B"}, "2")))
    assert response.status_code == 400
    assert "Content-ID Reference: '$7' does not exist in the batch context." in response.text
    assert dataverse.rows("leads") == []


def test_at_most_1000_operations(api, dataverse):
    """docs/dataverse-webapi.md#51-batch-request, #128-batch: 1,000 operations are accepted, 1,001 refused before anything runs."""
    gets = [part("GET", f"{API}leads?$top=1") for _ in range(1000)]
    assert batch(api, *gets).status_code == 200
    response = batch(api, part("POST", f"{API}leads", {"firstname": "A"}), *gets)
    assert response.status_code == 400
    assert "1000" in error_of(response)["message"]
    assert dataverse.rows("leads") == []


def test_batch_counts_as_one_request(api, dataverse):
    """docs/dataverse-webapi.md#52-batch-response, #7-service-protection: a $batch is one request in the log, whatever it contains."""
    dataverse.clear_log()
    batch(api, part("POST", f"{API}leads", {"firstname": "A"}), part("GET", f"{API}leads"))
    assert dataverse.count() == 1
    assert dataverse.count(method="POST", path="$batch") == 1
    assert dataverse.count(path="leads") == 0


def test_absolute_urls_and_representation_inside_parts(api, dataverse):
    """docs/dataverse-webapi.md#51-batch-request: inner request lines may be absolute; per-part Prefer return=representation."""
    response = batch(api, part("POST", f"{dataverse.url}{API}leads", {"firstname": "A"}, headers={"Prefer": "return=representation"}))
    assert statuses(response) == [201]
    assert '"firstname":"A"' in response.text

"""Reads: $select, $orderby, $top, $count, $expand, paging and annotations (docs/dataverse-webapi.md#41-query-options, #43-paging to #45-response-shapes, #126-reads)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.component.emulator.web_api import ANNOTATIONS, error_of


@pytest.fixture
def twelve_leads(dataverse) -> list[str]:
    return [dataverse.insert("leads", {"firstname": f"L{i:02d}", "lastname": "Same" if i % 2 else "Other"}) for i in range(12)]


def test_select_keeps_the_key_and_etag(api, twelve_leads):
    """docs/dataverse-webapi.md#41-query-options, #45-response-shapes: $select returns the chosen columns plus the primary key and @odata.etag."""
    body = api.get("leads", params={"$select": "firstname", "$top": "1"}).json()
    assert body["@odata.context"].endswith("$metadata#leads(firstname)")
    assert set(body["value"][0]) == {"@odata.etag", "firstname", "leadid"}


def test_without_select_every_column_is_returned(api, twelve_leads):
    """docs/dataverse-webapi.md#45-response-shapes: unselected reads carry every column, nulls included."""
    row = api.get(f"leads({twelve_leads[0]})").json()
    assert {"firstname", "lastname", "fullname", "emailaddress1", "telephone1", "subject", "statecode", "statuscode"} <= set(row)
    assert row["emailaddress1"] is None


def test_unknown_select_column_is_400(api):
    """docs/dataverse-webapi.md#41-query-options, #83-error-codes: 'Could not find a property named ...'."""
    response = api.get("leads", params={"$select": "firstname,nickname"})
    assert response.status_code == 400
    assert error_of(response)["message"] == "Could not find a property named 'nickname' on type 'Microsoft.Dynamics.CRM.lead'."


def test_orderby_and_top(api, twelve_leads):
    """docs/dataverse-webapi.md#41-query-options: $orderby with several keys and directions; $top limits the rows."""
    rows = api.get("leads", params={"$select": "firstname,lastname", "$orderby": "lastname desc,firstname asc", "$top": "3"}).json()["value"]
    assert [(r["lastname"], r["firstname"]) for r in rows] == [("Same", "L01"), ("Same", "L03"), ("Same", "L05")]
    assert api.get("leads", params={"$orderby": "nickname"}).status_code == 400
    assert api.get("leads", params={"$top": "-1"}).status_code == 400


def test_count(api, twelve_leads):
    """docs/dataverse-webapi.md#41-query-options: $count=true adds @odata.count; <set>/$count is plain text."""
    body = api.get("leads", params={"$count": "true", "$filter": "lastname eq 'Same'", "$top": "2"}).json()
    assert body["@odata.count"] == 6 and len(body["value"]) == 2
    text = api.get("leads/$count")
    assert text.text == "12" and text.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize("option", ["$skip", "$search", "$levels"])
def test_unsupported_options_are_400(api, option):
    """docs/dataverse-webapi.md#41-query-options, #126-reads: $skip (and $search, $levels) are not supported."""
    response = api.get("leads", params={option: "1"})
    assert response.status_code == 400
    assert option in error_of(response)["message"]


def test_paging_with_maxpagesize_and_next_link(api, twelve_leads):
    """docs/dataverse-webapi.md#43-paging, #126-reads: odata.maxpagesize pages; @odata.nextLink is followed as-is until absent."""
    headers = {"Prefer": "odata.maxpagesize=5"}
    url = "leads?$select=firstname&$filter=statecode eq 0&$orderby=firstname"
    seen, pages = [], 0
    while url:
        response = api.get(url, headers=headers)
        assert response.status_code == 200
        assert response.headers["Preference-Applied"] == "odata.maxpagesize=5"
        body = response.json()
        assert len(body["value"]) <= 5
        seen += [row["firstname"] for row in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
        if url:
            query = parse_qs(urlsplit(url).query)
            assert query["$skiptoken"] and query["$filter"] == ["statecode eq 0"]
    assert pages == 3
    assert seen == [f"L{i:02d}" for i in range(12)]


def test_top_and_maxpagesize_do_not_page(api, twelve_leads):
    """docs/dataverse-webapi.md#43-paging: $top limits the total and no nextLink is given."""
    body = api.get("leads", params={"$top": "8"}, headers={"Prefer": "odata.maxpagesize=5"}).json()
    assert len(body["value"]) == 8 and "@odata.nextLink" not in body


def test_bad_skiptoken_is_400(api, twelve_leads):
    """docs/dataverse-webapi.md#43-paging: the skiptoken is opaque; a forged one is refused."""
    assert api.get("leads", params={"$skiptoken": "nonsense"}).status_code == 400


def test_formatted_values_and_preference_applied(api, dataverse):
    """docs/dataverse-webapi.md#44-annotations: FormattedValue for option sets and dates; Preference-Applied echoes the annotations."""
    appointment = dataverse.insert("appointments", {"subject": "x", "scheduledstart": "2026-01-20T15:05:00Z"})
    response = api.get(f"appointments({appointment})", params={"$select": "statecode,statuscode,scheduledstart"}, headers=ANNOTATIONS)
    row = response.json()
    assert row["statecode@OData.Community.Display.V1.FormattedValue"] == "Open"
    assert row["statuscode@OData.Community.Display.V1.FormattedValue"] == "Free"
    assert row["scheduledstart@OData.Community.Display.V1.FormattedValue"] == "1/20/2026 3:05 PM"
    assert response.headers["Preference-Applied"] == 'odata.include-annotations="*"'
    only_names = api.get(
        f"appointments({appointment})", params={"$select": "statecode"},
        headers={"Prefer": 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'},
    ).json()
    assert "statecode@OData.Community.Display.V1.FormattedValue" not in only_names


def test_expand_single_valued_navigation(api, dataverse):
    """docs/dataverse-webapi.md#41-query-options, #126-reads: $expand=Resource($select=name) nests the target row."""
    user = dataverse.insert("systemusers", {"fullname": "Alex"})
    resource = dataverse.insert("bookableresources", {"name": "Alex", "resourcetype": 3, "timezone": 85, "UserId@odata.bind": f"/systemusers({user})"})
    dataverse.insert("bookableresourcebookings", {"name": "b", "starttime": "2026-11-16T14:00:00Z", "endtime": "2026-11-16T15:00:00Z", "duration": 60, "Resource@odata.bind": f"/bookableresources({resource})"})
    row = api.get("bookableresourcebookings", params={"$select": "name", "$expand": "Resource($select=name;$expand=UserId($select=fullname))"}).json()["value"][0]
    assert row["Resource"]["name"] == "Alex" and row["Resource"]["bookableresourceid"] == resource
    assert row["Resource"]["UserId"]["fullname"] == "Alex"
    unset = api.get("bookableresourcebookings", params={"$expand": "BookingStatus"}).json()["value"][0]
    assert unset["BookingStatus"] is None
    assert api.get("bookableresourcebookings", params={"$expand": "resource"}).status_code == 400


def test_expand_collection_valued_navigation(api, dataverse):
    """docs/dataverse-webapi.md#41-query-options: collection expands take $select;$filter;$orderby;$top."""
    lead = dataverse.insert("leads", {"firstname": "A"})
    for subject in ("b", "a", "c"):
        dataverse.insert("appointments", {"subject": subject, "regardingobjectid_lead_appointment@odata.bind": f"/leads({lead})"})
    row = api.get(f"leads({lead})", params={"$select": "firstname", "$expand": "Lead_Appointments($select=subject;$filter=subject ne 'c';$orderby=subject)"}).json()
    assert [a["subject"] for a in row["Lead_Appointments"]] == ["a", "b"]
    related = api.get(f"leads({lead})/Lead_Appointments", params={"$select": "subject", "$orderby": "subject desc"}).json()["value"]
    assert [a["subject"] for a in related] == ["c", "b", "a"]

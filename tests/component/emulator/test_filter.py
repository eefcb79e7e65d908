"""$filter: a real parser over every operator, function and literal the reference lists (docs/dataverse-webapi.md#41-query-options, #42-string-literals, #126-reads)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.component.emulator.web_api import error_of

PEOPLE = [
    ("Ana", "Diaz", "ana@example.com", 0),
    ("Ben", "O'Neil", "BEN@Example.com", 0),
    ("Carla", "Gomez", None, 1),
    ("Dev", "Patel", "dev@sample.org", 0),
]


@pytest.fixture
def contacts(api, dataverse) -> dict[str, str]:
    ids = {}
    for first, last, email, state in PEOPLE:
        ids[first] = dataverse.insert("contacts", {"firstname": first, "lastname": last, "emailaddress1": email})
        if state:
            assert api.patch(f"contacts({ids[first]})", json={"statecode": state}).status_code == 204
    return ids


def names(api, expression: str, **params: str) -> list[str]:
    response = api.get("contacts", params={"$filter": expression, "$select": "firstname", "$orderby": "firstname", **params})
    assert response.status_code == 200, response.text
    return [row["firstname"] for row in response.json()["value"]]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("firstname eq 'Ana'", ["Ana"]),
        ("firstname eq 'ana'", ["Ana"]),
        ("firstname ne 'Ana'", ["Ben", "Carla", "Dev"]),
        ("lastname eq 'O''Neil'", ["Ben"]),
        ("firstname gt 'Ben'", ["Carla", "Dev"]),
        ("firstname ge 'Ben'", ["Ben", "Carla", "Dev"]),
        ("firstname lt 'Ben'", ["Ana"]),
        ("firstname le 'ben'", ["Ana", "Ben"]),
        ("statecode eq 0 and emailaddress1 ne null", ["Ana", "Ben", "Dev"]),
        ("emailaddress1 eq null", ["Carla"]),
        ("firstname eq 'Ana' or firstname eq 'Dev'", ["Ana", "Dev"]),
        ("not (statecode eq 0)", ["Carla"]),
        ("(firstname eq 'Ana' or firstname eq 'Ben') and statecode eq 0", ["Ana", "Ben"]),
        ("firstname eq 'Ana' or firstname eq 'Ben' and statecode eq 1", ["Ana"]),
        ("contains(emailaddress1,'EXAMPLE')", ["Ana", "Ben"]),
        ("startswith(lastname,'o''n')", ["Ben"]),
        ("endswith(emailaddress1,'.org')", ["Dev"]),
        ("not contains(emailaddress1,'example')", ["Carla", "Dev"]),
        ("Microsoft.Dynamics.CRM.In(PropertyName='emailaddress1',PropertyValues=[\"ana@example.com\",\"ben@example.com\"])", ["Ana", "Ben"]),
        ("Microsoft.Dynamics.CRM.NotIn(PropertyName='firstname',PropertyValues=[\"Ana\"])", ["Ben", "Carla", "Dev"]),
        ("Microsoft.Dynamics.CRM.In(PropertyName='statecode',PropertyValues=[\"1\"])", ["Carla"]),
    ],
)
def test_operators_functions_and_precedence(api, contacts, expression, expected):
    """docs/dataverse-webapi.md#41-query-options, #42-string-literals: comparison, logical operators with precedence, functions, case-insensitive strings."""
    assert names(api, expression) == expected


def test_guid_literals_and_lookup_properties(api, dataverse, contacts):
    """docs/dataverse-webapi.md#41-query-options: GUIDs unquoted; lookups filtered by _x_value; a quoted GUID is a type error."""
    appointment = dataverse.insert("appointments", {"subject": "x", "regardingobjectid_contact_appointment@odata.bind": f"/contacts({contacts['Ben']})"})
    dataverse.insert("appointments", {"subject": "y"})
    found = api.get("appointments", params={"$filter": f"_regardingobjectid_value eq {contacts['Ben'].upper()}"}).json()["value"]
    assert [row["activityid"] for row in found] == [appointment]
    assert names(api, f"contactid eq {contacts['Dev']}") == ["Dev"]
    quoted = api.get("appointments", params={"$filter": f"_regardingobjectid_value eq '{contacts['Ben']}'"})
    assert quoted.status_code == 400
    assert "incompatible types" in error_of(quoted)["message"]


def test_date_literals_compare_in_utc(api, dataverse):
    """docs/dataverse-webapi.md#41-query-options, #10-dates-and-times: unquoted ISO date-times with offsets compare as UTC instants."""
    for hour in (8, 12, 16):
        dataverse.insert("appointments", {"subject": f"h{hour}", "scheduledstart": f"2026-03-01T{hour:02d}:00:00Z"})
    response = api.get(
        "appointments",
        params={"$filter": "scheduledstart ge 2026-03-01T07:00:00-05:00 and scheduledstart lt 2026-03-01T17:00:00Z", "$select": "subject", "$orderby": "scheduledstart desc"},
    )
    assert [row["subject"] for row in response.json()["value"]] == ["h16", "h12"]


def test_number_and_boolean_literals(api, dataverse):
    """docs/dataverse-webapi.md#41-query-options: numbers and true/false."""
    dataverse.insert("systemusers", {"fullname": "On", "isdisabled": False})
    dataverse.insert("systemusers", {"fullname": "Off", "isdisabled": True})
    only_inserted = "(fullname eq 'On' or fullname eq 'Off')"  # the seeded caller is enabled too
    rows = api.get("systemusers", params={"$filter": f"isdisabled eq false and {only_inserted}", "$select": "fullname"}).json()["value"]
    assert [row["fullname"] for row in rows] == ["On"]
    status = dataverse.insert("bookingstatuses", {"name": "Committed", "status": 2})
    assert [r["bookingstatusid"] for r in api.get("bookingstatuses", params={"$filter": "status eq 2"}).json()["value"]] == [status]
    assert api.get("bookingstatuses", params={"$filter": "status gt 2"}).json()["value"] == []


def test_parameter_aliases(api, contacts):
    """docs/dataverse-webapi.md#42-string-literals: $filter=contains(name,@p1)&@p1='...'."""
    assert names(api, "contains(lastname,@p1)", **{"@p1": "'o''n'"}) == ["Ben"]


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("lastname eq 'O'Neil'", "unterminated literal at position 19"),
        ("lastname eq 'unterminated", "unterminated literal"),
        ("nosuchcolumn eq 1", "Could not find a property named 'nosuchcolumn'"),
        ("firstname eq 5", "incompatible types"),
        ("firstname eq", "Syntax error"),
        ("(firstname eq 'a'", "Syntax error"),
        ("firstname like 'a'", "Syntax error"),
        ("tolower(firstname) eq 'a'", "not supported"),
        ("firstname eq 'a' $", "not valid"),
    ],
)
def test_bad_filters_are_400(api, contacts, expression, fragment):
    """docs/dataverse-webapi.md#42-string-literals, #83-error-codes: syntax, type and name errors are 400 with a message, never a 500."""
    response = api.get("contacts", params={"$filter": expression})
    assert response.status_code == 400
    assert fragment in error_of(response)["message"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(alphabet=st.sampled_from("ab'O ,()=&+%/#?é"), min_size=1, max_size=12))
def test_any_string_round_trips_through_a_quoted_literal(api, dataverse, value):
    """docs/dataverse-webapi.md#42-string-literals: doubling quotes and percent-encoding find exactly the row, whatever the characters."""
    dataverse.reset()
    target = dataverse.insert("leads", {"lastname": value})
    dataverse.insert("leads", {"lastname": value + "x"})
    literal = "'" + value.replace("'", "''") + "'"
    rows = api.get("leads", params={"$filter": f"lastname eq {literal}"}).json()["value"]
    assert [row["leadid"] for row in rows] == [target]


def test_filters_see_only_their_table(api, dataverse):
    """docs/dataverse-webapi.md#41-query-options: a row id from another table never matches."""
    lead = dataverse.insert("leads", {"firstname": "X"})
    assert api.get("contacts", params={"$filter": f"contactid eq {lead}"}).json()["value"] == []
    assert uuid.UUID(lead)

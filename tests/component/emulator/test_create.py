"""Create: status codes, keys, validation and stored values (docs/dataverse-webapi.md#31-create, #36-alternate-keys, #83-error-codes, #10-dates-and-times, #122-create, #125-validation, #127-dates)."""

from __future__ import annotations

import uuid

import pytest

from tests.component.emulator.web_api import REPRESENTATION, created_id, error_of


def test_create_answers_204_with_the_entity_id(api, dataverse):
    """docs/dataverse-webapi.md#31-create, #122-create: 204, no body, OData-EntityId naming the new row."""
    response = api.post("leads", json={"firstname": "Ana", "lastname": "Diaz", "subject": "Mortgage"})
    assert response.content == b""
    new_id = created_id(response)
    assert response.headers["OData-EntityId"] == f"{dataverse.url}/api/data/v9.2/leads({new_id})"
    row = dataverse.row("leads", new_id)
    assert row["fullname"] == "Ana Diaz" and row["statecode"] == 0 and row["statuscode"] == 1


def test_return_representation_answers_201_with_the_row(api):
    """docs/dataverse-webapi.md#31-create: 201 + body + Preference-Applied, and no OData-EntityId; $select applies."""
    response = api.post(
        "contacts", params={"$select": "firstname"}, json={"firstname": "Carla"}, headers=REPRESENTATION
    )
    assert response.status_code == 201
    assert response.headers["Preference-Applied"] == "return=representation"
    assert "OData-EntityId" not in response.headers
    body = response.json()
    assert body["firstname"] == "Carla" and uuid.UUID(body["contactid"])
    assert body["@odata.etag"].startswith('W/"') and "lastname" not in body


def test_client_supplied_primary_key_and_duplicate(api):
    """docs/dataverse-webapi.md#31-create, #122-create: a client-supplied id is kept; the same id again is 412 0x80040237."""
    booking_id = str(uuid.uuid4())
    body = {"bookingstatusid": booking_id, "name": "Committed", "status": 2}
    assert created_id(api.post("bookingstatuses", json=body)) == booking_id
    again = api.post("bookingstatuses", json=body)
    assert again.status_code == 412
    assert error_of(again)["code"] == "0x80040237"


def test_alternate_key_duplicate_is_412(api):
    """docs/dataverse-webapi.md#36-alternate-keys, #122-create: a second contact with the same key value is 412 0x80060892, compared case-insensitively."""
    created_id(api.post("contacts", json={"emailaddress1": "ana@example.com"}))
    response = api.post("contacts", json={"emailaddress1": "ANA@example.com"})
    assert response.status_code == 412
    assert error_of(response)["code"] == "0x80060892"


def test_unknown_property_is_400(api, dataverse):
    """docs/dataverse-webapi.md#31-create, #125-validation: 'Invalid property ... was found in entity ...' and nothing stored."""
    response = api.post("leads", json={"firstname": "A", "nickname": "x"})
    assert response.status_code == 400
    assert error_of(response)["message"] == (
        "Invalid property 'nickname' was found in entity 'Microsoft.Dynamics.CRM.lead'."
    )
    assert dataverse.rows("leads") == []


@pytest.mark.parametrize(
    ("entity_set", "body", "code"),
    [
        ("bookingstatuses", {"name": "x", "status": 4}, "0x8004431A"),
        ("msdyn_shiftactivitytypes", {"msdyn_name": "x", "msdyn_shiftassignmentstatus": 1}, "0x8004431A"),
        ("appointments", {"subject": "s" * 201}, "0x80044331"),
        ("leads", {"subject": "s" * 301}, "0x80044331"),
        ("bookableresourcebookings", {"name": "n" * 101}, "0x80044331"),
    ],
)
def test_option_sets_and_lengths_are_validated(api, entity_set, body, code):
    """docs/dataverse-webapi.md#2-tables, #83-error-codes, #125-validation: out-of-range option values and over-long strings are 400 with their codes."""
    response = api.post(entity_set, json=body)
    assert response.status_code == 400
    assert error_of(response)["code"] == code


def test_maximum_lengths_are_inclusive(api):
    """docs/dataverse-webapi.md#28-appointment: subject may be exactly 200 characters."""
    assert api.post("appointments", json={"subject": "s" * 200}).status_code == 204


def test_system_required_columns(api):
    """docs/dataverse-webapi.md#22-bookableresource: timezone and resourcetype are required on a bookable resource."""
    response = api.post("bookableresources", json={"name": "Alex", "resourcetype": 3})
    assert response.status_code == 400
    assert "timezone" in error_of(response)["message"]
    assert api.post("bookableresources", json={"name": "Alex", "resourcetype": 3, "timezone": 85}).status_code == 204


def test_wrong_json_types_are_400(api):
    """docs/dataverse-webapi.md#83-error-codes: a value of the wrong type cannot be converted."""
    assert api.post("leads", json={"firstname": 5}).status_code == 400
    assert api.post("bookingstatuses", json={"name": "x", "status": "2"}).status_code == 400
    assert api.post("systemusers", json={"isdisabled": "no"}).status_code == 400
    response = api.post("leads", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    error_of(response)


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2026-01-20T15:00:00-05:00", "2026-01-20T20:00:00Z"),
        ("2026-01-20T20:00:00Z", "2026-01-20T20:00:00Z"),
        ("2026-01-20T20:00:00.750Z", "2026-01-20T20:00:00Z"),
        ("2026-01-21T01:30:00+05:30", "2026-01-20T20:00:00Z"),
    ],
)
def test_dates_are_normalised_to_utc(api, sent, stored):
    """docs/dataverse-webapi.md#10-dates-and-times, #127-dates: DateTimeOffset input with any offset is stored and returned as UTC ...Z."""
    response = api.post("appointments", json={"subject": "x", "scheduledstart": sent}, headers=REPRESENTATION)
    assert response.json()["scheduledstart"] == stored


def test_malformed_dates_are_400(api):
    """docs/dataverse-webapi.md#10-dates-and-times: a malformed or pre-1753 date is rejected."""
    for value in ("tomorrow", "2026-13-01T00:00:00Z", "1700-01-01T00:00:00Z", "2026-01-20"):
        assert api.post("appointments", json={"scheduledstart": value}).status_code == 400, value


def test_state_is_not_valid_for_create(api):
    """docs/dataverse-webapi.md#28-appointment: statecode is not valid for create; the row is created Open and then PATCHed."""
    response = api.post("appointments", json={"subject": "x", "statecode": 2, "statuscode": 4})
    assert response.status_code == 400
    error_of(response)
    assert api.post("appointments", json={"subject": "x", "statuscode": 2}).status_code == 204
    assert api.post("appointments", json={"subject": "x", "statuscode": 4}).status_code == 400


def test_appointment_duration_is_derived(api):
    """docs/dataverse-webapi.md#28-appointment: scheduleddurationminutes follows start and end."""
    body = {"subject": "x", "scheduledstart": "2026-01-20T15:00:00Z", "scheduledend": "2026-01-20T15:45:00Z"}
    assert api.post("appointments", json=body, headers=REPRESENTATION).json()["scheduleddurationminutes"] == 45


def test_custom_columns_are_configurable(api, dataverse):
    """Brief: custom_columns={"appointment": {"new_bookingversion": "string"}} adds a column."""
    new_id = created_id(api.post("appointments", json={"subject": "x", "new_bookingversion": "2026-01-15T14:03:20Z"}))
    assert dataverse.row("appointments", new_id)["new_bookingversion"] == "2026-01-15T14:03:20Z"
    assert api.post("leads", json={"new_bookingversion": "x"}).status_code == 400

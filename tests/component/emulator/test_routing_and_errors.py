"""Routing, entity set names and the error shape (docs/dataverse-webapi.md#11-url-shape, #8-errors, #121-routing, #1211-error-shape)."""

from __future__ import annotations

import uuid

from tests.component.emulator.web_api import error_of


def test_entity_set_names_are_case_sensitive(api):
    """docs/dataverse-webapi.md#11-url-shape, #121-routing: an unknown or wrongly cased set gives 404 'Resource not found for the segment'."""
    response = api.get("Leads")
    assert response.status_code == 404
    error = error_of(response)
    assert error["message"] == "Resource not found for the segment 'Leads'."
    assert error["code"].startswith("0x")
    assert api.get("leads").status_code == 200


def test_every_table_of_the_reference_is_served(api):
    """docs/dataverse-webapi.md#21-table-summary: the entity sets of the integration's tables."""
    names = {item["name"] for item in api.get("").json()["value"]}
    assert {
        "systemusers", "leads", "contacts", "appointments", "activityparties", "activitypointers",
        "bookableresources", "bookingstatuses", "msdyn_shiftactivitytypes", "msdyn_shiftplans",
        "msdyn_bookingsetupmetadatas", "bookableresourcebookings",
    } <= names
    for name in names:
        assert api.get(name, params={"$top": "1"}).status_code == 200, name


def test_responses_carry_service_headers(api):
    """docs/dataverse-webapi.md#7-service-protection, #9-other-headers, #1210-throttling to #1211-error-shape: OData-Version, x-ms-service-request-id, x-ms-dop-hint, JSON with minimal metadata."""
    response = api.get("leads")
    assert response.headers["OData-Version"] == "4.0"
    assert uuid.UUID(response.headers["x-ms-service-request-id"])
    assert int(response.headers["x-ms-dop-hint"]) > 0
    assert response.headers["content-type"] == "application/json; odata.metadata=minimal"
    other = api.get("leads")
    assert other.headers["x-ms-service-request-id"] != response.headers["x-ms-service-request-id"]


def test_errors_are_json_even_for_unknown_routes(api, dataverse):
    """docs/dataverse-webapi.md#81-error-body: errors are always {"error": {"code", "message"}}."""
    response = api.get(f"leads({uuid.uuid4()})/nosuchthing")
    assert response.status_code == 404
    error_of(response)
    outside = api.get(f"{dataverse.url}/api/data/v9.1/leads")
    assert outside.status_code == 404
    error_of(outside)


def test_wrong_method_on_a_collection(api):
    """docs/dataverse-webapi.md#82-status-codes: a method a route does not support is refused with a JSON error."""
    response = api.patch("leads", json={})
    assert response.status_code == 405
    error_of(response)


def test_alternate_key_definitions_are_listed(api):
    """docs/dataverse-webapi.md#37-defining-alternate-keys, #121-routing (optional route): EntityDefinitions(LogicalName='contact')/Keys."""
    keys = api.get("EntityDefinitions(LogicalName='contact')/Keys").json()["value"]
    assert [k["KeyAttributes"] for k in keys] == [["emailaddress1"]]
    assert api.get("EntityDefinitions(LogicalName='nosuch')/Keys").status_code == 404


def test_metadata_document_names_navigation_properties(api):
    """docs/dataverse-webapi.md#11-url-shape, #25-bookableresourcebooking: $metadata declares the case-sensitive navigation properties."""
    response = api.get("$metadata")
    assert response.status_code == 200
    assert 'NavigationProperty Name="msdyn_BookingSetupMetadataId"' in response.text
    assert 'EntitySet Name="bookableresourcebookings"' in response.text

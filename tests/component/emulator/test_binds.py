"""@odata.bind: navigation names, reference forms, targets and read-back (docs/dataverse-webapi.md#2-tables, #31-create, #36-alternate-keys, #44-annotations, #124-binds)."""

from __future__ import annotations

import uuid

import pytest

from emulators.dataverse.model.tables import BOOKING_SETUP_METADATA_ID
from tests.component.emulator.web_api import ANNOTATIONS, created_id, error_of


@pytest.fixture
def lead_id(api) -> str:
    return created_id(api.post("leads", json={"firstname": "Ana", "lastname": "Diaz", "emailaddress1": "ana@example.com"}))


@pytest.mark.parametrize("form", ["/leads({id})", "leads({id})", "{url}/api/data/v9.2/leads({id})"])
def test_bind_reference_forms(api, dataverse, lead_id, form):
    """docs/dataverse-webapi.md#31-create, #124-binds: /set(guid), set(guid) and absolute URLs bind the same lookup."""
    reference = form.format(id=lead_id, url=dataverse.url)
    new_id = created_id(api.post("appointments", json={"subject": "x", "regardingobjectid_lead_appointment@odata.bind": reference}))
    assert dataverse.row("appointments", new_id)["_regardingobjectid_value"] == lead_id


def test_bind_by_alternate_key(api, dataverse):
    """docs/dataverse-webapi.md#36-alternate-keys: a bind may name the target by alternate key."""
    contact_id = created_id(api.post("contacts", json={"emailaddress1": "carla@example.com"}))
    body = {"subject": "x", "regardingobjectid_contact_appointment@odata.bind": "/contacts(emailaddress1='carla@example.com')"}
    new_id = created_id(api.post("appointments", json=body))
    assert dataverse.row("appointments", new_id)["_regardingobjectid_value"] == contact_id


def test_navigation_names_are_case_sensitive(api, lead_id):
    """docs/dataverse-webapi.md#2-tables, #83-error-codes, #124-binds: a wrongly cased navigation property is 400 0x80048d19 (undeclared property)."""
    response = api.post("appointments", json={"subject": "x", "RegardingObjectId_lead_appointment@odata.bind": f"/leads({lead_id})"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "0x80048d19" and "undeclared property" in error["message"]


def test_bind_to_a_missing_row_is_404(api, dataverse):
    """docs/dataverse-webapi.md#83-error-codes, #124-binds: the target must exist (404 0x80040217); nothing is written."""
    response = api.post("appointments", json={"subject": "x", "regardingobjectid_lead_appointment@odata.bind": f"/leads({uuid.uuid4()})"})
    assert response.status_code == 404
    assert error_of(response)["code"] == "0x80040217"
    assert dataverse.rows("appointments") == []


def test_bind_to_the_wrong_table_or_set(api, lead_id):
    """docs/dataverse-webapi.md#83-error-codes: a navigation bound to another table, or to an unknown set, is 400."""
    wrong_table = api.post("appointments", json={"subject": "x", "regardingobjectid_contact_appointment@odata.bind": f"/leads({lead_id})"})
    assert wrong_table.status_code == 400
    unknown_set = api.post("appointments", json={"subject": "x", "regardingobjectid_lead_appointment@odata.bind": f"/Leads({lead_id})"})
    assert unknown_set.status_code == 400
    assert "Resource not found for the segment 'Leads'" in error_of(unknown_set)["message"]
    assert api.post("appointments", json={"subject": "x", "regardingobjectid_lead_appointment@odata.bind": "nonsense"}).status_code == 400


def test_lookup_read_back_with_annotations(api, lead_id):
    """docs/dataverse-webapi.md#44-annotations: _regardingobjectid_value with lookuplogicalname, associatednavigationproperty and name."""
    new_id = created_id(api.post("appointments", json={"subject": "x", "regardingobjectid_lead_appointment@odata.bind": f"/leads({lead_id})"}))
    row = api.get(f"appointments({new_id})", params={"$select": "_regardingobjectid_value"}, headers=ANNOTATIONS).json()
    assert row["_regardingobjectid_value"] == lead_id
    assert row["_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "lead"
    assert row["_regardingobjectid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == "regardingobjectid_lead_appointment"
    assert row["_regardingobjectid_value@OData.Community.Display.V1.FormattedValue"] == "Ana Diaz"
    plain = api.get(f"appointments({new_id})").json()
    assert not any("@" in key for key in plain if key != "@odata.etag" and key != "@odata.context")


def test_lookup_value_properties_are_read_only(api):
    """docs/dataverse-webapi.md#44-annotations: _x_value cannot be written; use the navigation bind."""
    response = api.post("appointments", json={"subject": "x", "_regardingobjectid_value": str(uuid.uuid4())})
    assert response.status_code == 400


def _reference_rows(api) -> dict[str, str]:
    user = created_id(api.post("systemusers", json={"fullname": "Alex Smith", "internalemailaddress": "a.smith@contoso.com"}))
    resource = created_id(api.post("bookableresources", json={"name": "Alex Smith", "resourcetype": 3, "timezone": 85, "UserId@odata.bind": f"/systemusers({user})"}))
    status = created_id(api.post("bookingstatuses", json={"name": "Committed", "status": 2}))
    activity = created_id(api.post("msdyn_shiftactivitytypes", json={"msdyn_name": "Phone", "msdyn_shiftassignmentstatus": 192350000}))
    plan = created_id(api.post("msdyn_shiftplans", json={"msdyn_name": "Week 47"}))
    return {"user": user, "resource": resource, "status": status, "activity": activity, "plan": plan}


def test_bookable_resource_booking_navigation_properties(api, dataverse):
    """docs/dataverse-webapi.md#22-bookableresource, #25-bookableresourcebooking: every navigation property of a WEM booking, exact case, read back as _x_value."""
    ids = _reference_rows(api)
    assert dataverse.row("bookableresources", ids["resource"])["_userid_value"] == ids["user"]
    body = {
        "name": "Shift - Phone",
        "starttime": "2026-11-16T14:00:00Z",
        "endtime": "2026-11-16T16:00:00Z",
        "duration": 120,
        "bookingtype": 1,
        "msdyn_bookingmethod": 690970003,
        "Resource@odata.bind": f"/bookableresources({ids['resource']})",
        "BookingStatus@odata.bind": f"/bookingstatuses({ids['status']})",
        "msdyn_shiftactivitytype@odata.bind": f"/msdyn_shiftactivitytypes({ids['activity']})",
        "msdyn_shiftplan@odata.bind": f"/msdyn_shiftplans({ids['plan']})",
        "msdyn_BookingSetupMetadataId@odata.bind": f"/msdyn_bookingsetupmetadatas({BOOKING_SETUP_METADATA_ID})",
    }
    row = dataverse.row("bookableresourcebookings", created_id(api.post("bookableresourcebookings", json=body)))
    assert row["_resource_value"] == ids["resource"]
    assert row["_bookingstatus_value"] == ids["status"]
    assert row["_msdyn_shiftactivitytype_value"] == ids["activity"]
    assert row["_msdyn_shiftplan_value"] == ids["plan"]
    assert row["_msdyn_bookingsetupmetadataid_value"] == BOOKING_SETUP_METADATA_ID
    assert row["statecode"] == 0 and row["bookingtype"] == 1
    for wrong in ("resource@odata.bind", "bookingStatus@odata.bind", "msdyn_bookingsetupmetadataid@odata.bind"):
        changed = dict(body)
        changed[wrong] = changed.pop(next(k for k in body if k.lower() == wrong.lower()))
        assert api.post("bookableresourcebookings", json=changed).status_code == 400, wrong


def test_booking_requires_its_resource(api):
    """docs/dataverse-webapi.md#25-bookableresourcebooking: starttime, endtime, duration and Resource are required on a booking."""
    response = api.post("bookableresourcebookings", json={"name": "x", "starttime": "2026-11-16T14:00:00Z", "endtime": "2026-11-16T16:00:00Z", "duration": 120})
    assert response.status_code == 400
    assert "Resource" in error_of(response)["message"]


def test_ref_routes_set_and_clear_a_lookup(api, dataverse, lead_id):
    """docs/dataverse-webapi.md#32-update: PUT and DELETE <set>(<id>)/<nav>/$ref; a null bind also clears (UNCONFIRMED)."""
    appointment = created_id(api.post("appointments", json={"subject": "x"}))
    assert api.put(f"appointments({appointment})/regardingobjectid_lead_appointment/$ref", json={"@odata.id": f"{dataverse.url}/api/data/v9.2/leads({lead_id})"}).status_code == 204
    assert api.get(f"appointments({appointment})/regardingobjectid_lead_appointment/$ref").json()["@odata.id"].endswith(f"leads({lead_id})")
    assert api.get(f"appointments({appointment})/regardingobjectid_lead_appointment").json()["leadid"] == lead_id
    assert api.delete(f"appointments({appointment})/regardingobjectid_lead_appointment/$ref").status_code == 204
    assert dataverse.row("appointments", appointment)["_regardingobjectid_value"] is None
    api.patch(f"appointments({appointment})", json={"regardingobjectid_lead_appointment@odata.bind": f"/leads({lead_id})"})
    api.patch(f"appointments({appointment})", json={"regardingobjectid_lead_appointment@odata.bind": None})
    assert dataverse.row("appointments", appointment)["_regardingobjectid_value"] is None

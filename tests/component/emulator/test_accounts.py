"""The account table and the contact's customer lookup (docs/emulator.md#accounts)."""

from __future__ import annotations

from tests.component.emulator.web_api import ANNOTATIONS, created_id, error_of


def _account(api, name="Contoso Ltd") -> str:
    return created_id(api.post("accounts", json={"name": name, "accountnumber": "A-1"}))


def test_contact_binds_parent_account_and_reads_customer_lookup(api):
    account_id = _account(api)
    contact_id = created_id(
        api.post("contacts", json={"lastname": "Diaz", "parentcustomerid_account@odata.bind": f"/accounts({account_id})"})
    )
    row = api.get(f"contacts({contact_id})", params={"$select": "_parentcustomerid_value"}, headers=ANNOTATIONS).json()
    assert row["_parentcustomerid_value"] == account_id
    assert row["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert row["_parentcustomerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"] == "parentcustomerid_account"
    assert row["_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"] == "Contoso Ltd"


def test_parent_customer_can_be_a_contact(api):
    parent = created_id(api.post("contacts", json={"lastname": "Parent"}))
    child = created_id(api.post("contacts", json={"lastname": "Child", "parentcustomerid_contact@odata.bind": f"/contacts({parent})"}))
    row = api.get(f"contacts({child})", headers=ANNOTATIONS).json()
    assert row["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "contact"
    assert row["_parentcustomerid_value"] == parent


def test_account_bind_to_a_contact_id_is_refused(api):
    contact = created_id(api.post("contacts", json={"lastname": "X"}))
    response = api.post("contacts", json={"lastname": "Y", "parentcustomerid_account@odata.bind": f"/contacts({contact})"})
    assert response.status_code == 400
    error_of(response)


def test_wrong_case_navigation_is_refused(api):
    account_id = _account(api)
    response = api.post("contacts", json={"lastname": "Y", "ParentCustomerId_Account@odata.bind": f"/accounts({account_id})"})
    assert response.status_code == 400
    assert "ParentCustomerId_Account" in error_of(response)["message"]


def test_account_lists_its_contacts_and_expands_them(api):
    account_id = _account(api)
    for name in ("A", "B"):
        api.post("contacts", json={"lastname": name, "parentcustomerid_account@odata.bind": f"/accounts({account_id})"})
    api.post("contacts", json={"lastname": "unrelated"})
    listed = api.get(f"accounts({account_id})/contact_customer_accounts", params={"$select": "lastname"}).json()
    assert sorted(r["lastname"] for r in listed["value"]) == ["A", "B"]
    expanded = api.get(
        f"accounts({account_id})", params={"$select": "name", "$expand": "contact_customer_accounts($select=lastname)"}
    ).json()
    assert sorted(r["lastname"] for r in expanded["contact_customer_accounts"]) == ["A", "B"]


def test_filter_contacts_by_parent_customer(api):
    account_id = _account(api)
    api.post("contacts", json={"lastname": "In", "parentcustomerid_account@odata.bind": f"/accounts({account_id})"})
    api.post("contacts", json={"lastname": "Out"})
    rows = api.get("contacts", params={"$filter": f"_parentcustomerid_value eq {account_id}", "$select": "lastname"}).json()
    assert [r["lastname"] for r in rows["value"]] == ["In"]


def test_deleting_the_account_deletes_its_contacts(api):
    account_id = _account(api)
    contact_id = created_id(
        api.post("contacts", json={"lastname": "Z", "parentcustomerid_account@odata.bind": f"/accounts({account_id})"})
    )
    assert api.delete(f"accounts({account_id})").status_code == 204
    assert api.get(f"contacts({contact_id})").status_code == 404


def test_account_name_length_and_state(api):
    response = api.post("accounts", json={"name": "x" * 161})
    assert response.status_code == 400
    account_id = _account(api)
    row = api.get(f"accounts({account_id})", params={"$select": "statecode,statuscode"}).json()
    assert (row["statecode"], row["statuscode"]) == (0, 1)


def test_appointment_regarding_an_account(api):
    account_id = _account(api)
    appointment = created_id(
        api.post("appointments", json={"subject": "s", "regardingobjectid_account_appointment@odata.bind": f"/accounts({account_id})"})
    )
    listed = api.get(f"accounts({account_id})/Account_Appointments", params={"$select": "subject"}).json()
    assert [r["activityid"] for r in listed["value"]] == [appointment]

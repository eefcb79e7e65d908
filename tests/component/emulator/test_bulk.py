"""CreateMultiple, UpdateMultiple, UpsertMultiple (docs/dataverse-webapi.md#6-bulk-operations, #129-bulk)."""

from __future__ import annotations

import uuid

import pytest

from tests.component.emulator.web_api import error_of

TYPE = "Microsoft.Dynamics.CRM.bookingstatus"


def _targets(*names: str, **extra: object) -> list[dict[str, object]]:
    return [{"@odata.type": TYPE, "name": name, "status": 2, **extra} for name in names]


def test_create_multiple_returns_ids_in_order(api, dataverse):
    """docs/dataverse-webapi.md#6-bulk-operations: 200 {"Ids": [...]} in the order of Targets."""
    response = api.post("bookingstatuses/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": _targets("a", "b", "c")})
    assert response.status_code == 200
    ids = response.json()["Ids"]
    assert [dataverse.row("bookingstatuses", i)["name"] for i in ids] == ["a", "b", "c"]


@pytest.mark.parametrize("action", ["CreateMultiple", "UpdateMultiple", "UpsertMultiple"])
def test_every_target_needs_its_odata_type(api, dataverse, action):
    """docs/dataverse-webapi.md#6-bulk-operations, #129-bulk: a target without @odata.type (or with another table's) fails the whole request."""
    targets = _targets("a") + [{"name": "b", "status": 2}]
    assert api.post(f"bookingstatuses/Microsoft.Dynamics.CRM.{action}", json={"Targets": targets}).status_code == 400
    wrong = [{"@odata.type": "Microsoft.Dynamics.CRM.lead", "name": "c", "status": 2}]
    assert api.post(f"bookingstatuses/Microsoft.Dynamics.CRM.{action}", json={"Targets": wrong}).status_code == 400
    assert dataverse.rows("bookingstatuses") == []


def test_create_multiple_is_all_or_nothing(api, dataverse):
    """docs/dataverse-webapi.md#6-bulk-operations: one invalid target rolls back the rest."""
    targets = _targets("a", "b") + [{"@odata.type": TYPE, "name": "c", "status": 9}]
    response = api.post("bookingstatuses/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
    assert response.status_code == 400
    assert error_of(response)["code"] == "0x8004431A"
    assert dataverse.rows("bookingstatuses") == []


def test_update_multiple(api, dataverse):
    """docs/dataverse-webapi.md#6-bulk-operations: 204; each target names its primary key; a missing row fails everything."""
    ids = [dataverse.insert("bookingstatuses", {"name": n, "status": 1}) for n in ("a", "b")]
    targets = [{"@odata.type": TYPE, "bookingstatusid": i, "status": 2} for i in ids]
    assert api.post("bookingstatuses/Microsoft.Dynamics.CRM.UpdateMultiple", json={"Targets": targets}).status_code == 204
    assert [dataverse.row("bookingstatuses", i)["status"] for i in ids] == [2, 2]
    targets = [{"@odata.type": TYPE, "bookingstatusid": ids[0], "status": 3}, {"@odata.type": TYPE, "bookingstatusid": str(uuid.uuid4()), "status": 3}]
    missing = api.post("bookingstatuses/Microsoft.Dynamics.CRM.UpdateMultiple", json={"Targets": targets})
    assert missing.status_code == 404
    assert dataverse.row("bookingstatuses", ids[0])["status"] == 2
    no_key = api.post("bookingstatuses/Microsoft.Dynamics.CRM.UpdateMultiple", json={"Targets": _targets("x")})
    assert no_key.status_code == 400


def test_upsert_multiple_creates_and_updates(api, dataverse):
    """docs/dataverse-webapi.md#6-bulk-operations: 204, no body; targets by primary key or by @odata.id with an alternate key."""
    existing = dataverse.insert("contacts", {"emailaddress1": "a@example.com", "firstname": "Old"})
    new_id = str(uuid.uuid4())
    targets = [
        {"@odata.type": "Microsoft.Dynamics.CRM.contact", "@odata.id": "contacts(emailaddress1='a@example.com')", "firstname": "New"},
        {"@odata.type": "Microsoft.Dynamics.CRM.contact", "contactid": new_id, "firstname": "Fresh"},
        {"@odata.type": "Microsoft.Dynamics.CRM.contact", "@odata.id": "contacts(emailaddress1='b@example.com')", "firstname": "Keyed"},
    ]
    response = api.post("contacts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": targets})
    assert response.status_code == 204 and response.content == b""
    assert dataverse.row("contacts", existing)["firstname"] == "New"
    assert dataverse.row("contacts", new_id)["firstname"] == "Fresh"
    assert {r["emailaddress1"] for r in dataverse.rows("contacts")} == {"a@example.com", "b@example.com", None}


def test_upsert_multiple_refuses_duplicate_targets(api, dataverse):
    """docs/dataverse-webapi.md#6-bulk-operations: the same record twice in one UpsertMultiple is an error; nothing is written."""
    same = str(uuid.uuid4())
    targets = [{"@odata.type": TYPE, "bookingstatusid": same, "name": "a", "status": 2}] * 2
    assert api.post("bookingstatuses/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": targets}).status_code == 400
    assert dataverse.rows("bookingstatuses") == []


def test_unknown_action_and_empty_targets(api):
    """docs/dataverse-webapi.md#6-bulk-operations: only the three actions exist; Targets must be a non-empty array."""
    assert api.post("bookingstatuses/Microsoft.Dynamics.CRM.DeleteMultiple", json={"Targets": []}).status_code == 404
    assert api.post("bookingstatuses/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": []}).status_code == 400

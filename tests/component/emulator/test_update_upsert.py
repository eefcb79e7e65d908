"""PATCH upsert, conditional headers, ETags, alternate keys, delete (docs/dataverse-webapi.md#32-update to #36-alternate-keys, #123-update-and-upsert)."""

from __future__ import annotations

import uuid

import pytest

from tests.component.emulator.web_api import REPRESENTATION, created_id, error_of


def etag_of(api, path: str) -> str:
    return api.get(path).json()["@odata.etag"]


def test_patch_without_conditions_creates_then_updates(api, dataverse):
    """docs/dataverse-webapi.md#32-update, #34-conditional-requests: PATCH is an upsert; 204 both times; the id in the URL is kept."""
    row_id = str(uuid.uuid4())
    assert api.patch(f"leads({row_id})", json={"firstname": "Ana"}).status_code == 204
    assert api.patch(f"leads({row_id})", json={"lastname": "Diaz"}).status_code == 204
    row = dataverse.row("leads", row_id)
    assert (row["firstname"], row["lastname"], row["fullname"]) == ("Ana", "Diaz", "Ana Diaz")
    assert len(dataverse.rows("leads")) == 1


def test_upsert_representation_tells_created_from_updated(api):
    """docs/dataverse-webapi.md#35-upsert-by-key, #123-update-and-upsert: return=representation gives 201 when created and 200 when updated."""
    row_id = str(uuid.uuid4())
    assert api.patch(f"contacts({row_id})", json={"firstname": "A"}, headers=REPRESENTATION).status_code == 201
    updated = api.patch(f"contacts({row_id})", json={"firstname": "B"}, headers=REPRESENTATION)
    assert updated.status_code == 200 and updated.json()["firstname"] == "B"


def test_if_match_star_is_a_strict_update(api, dataverse):
    """docs/dataverse-webapi.md#34-conditional-requests: If-Match: * on a missing row is 404 0x80040217 and creates nothing."""
    response = api.patch(f"leads({uuid.uuid4()})", json={"firstname": "A"}, headers={"If-Match": "*"})
    assert response.status_code == 404
    assert error_of(response)["code"] == "0x80040217"
    assert dataverse.rows("leads") == []


def test_if_none_match_star_is_a_strict_create(api):
    """docs/dataverse-webapi.md#34-conditional-requests: If-None-Match: * on an existing row is 412 0x80040237."""
    row_id = created_id(api.post("leads", json={"firstname": "A"}))
    response = api.patch(f"leads({row_id})", json={"firstname": "B"}, headers={"If-None-Match": "*"})
    assert response.status_code == 412
    assert error_of(response)["code"] == "0x80040237"
    assert api.patch(f"leads({uuid.uuid4()})", json={"firstname": "C"}, headers={"If-None-Match": "*"}).status_code == 204


def test_etags_change_on_every_write_and_guard_updates(api):
    """docs/dataverse-webapi.md#34-conditional-requests, #123-update-and-upsert: W/"n" ETags, bumped by each write; a stale one gives 412 0x80060882."""
    row_id = created_id(api.post("leads", json={"firstname": "A"}))
    first = etag_of(api, f"leads({row_id})")
    assert first.startswith('W/"')
    assert api.patch(f"leads({row_id})", json={"firstname": "A"}, headers={"If-Match": first}).status_code == 204
    second = etag_of(api, f"leads({row_id})")
    assert second != first
    stale = api.patch(f"leads({row_id})", json={"firstname": "B"}, headers={"If-Match": first})
    assert stale.status_code == 412
    assert error_of(stale)["code"] == "0x80060882"
    assert api.get(f"leads({row_id})").json()["firstname"] == "A"
    stale_delete = api.delete(f"leads({row_id})", headers={"If-Match": first})
    assert stale_delete.status_code == 412


def test_conditional_get_answers_304(api):
    """docs/dataverse-webapi.md#34-conditional-requests: GET with If-None-Match of the current ETag is 304."""
    row_id = created_id(api.post("leads", json={"firstname": "A"}))
    tag = etag_of(api, f"leads({row_id})")
    assert api.get(f"leads({row_id})", headers={"If-None-Match": tag}).status_code == 304
    api.patch(f"leads({row_id})", json={"firstname": "B"})
    assert api.get(f"leads({row_id})", headers={"If-None-Match": tag}).status_code == 200


def test_delete(api, dataverse):
    """docs/dataverse-webapi.md#33-delete: DELETE is 204, then 404 0x80040217."""
    row_id = created_id(api.post("leads", json={"firstname": "A"}))
    assert api.delete(f"leads({row_id})").status_code == 204
    again = api.delete(f"leads({row_id})")
    assert again.status_code == 404
    assert error_of(again)["code"] == "0x80040217"
    assert dataverse.row("leads", row_id) is None


def test_alternate_key_urls(api, dataverse):
    """docs/dataverse-webapi.md#35-upsert-by-key, #36-alternate-keys: GET, PATCH-upsert and DELETE by contacts(emailaddress1='...')."""
    path = "contacts(emailaddress1='o''brien@example.com')"
    missing = api.get(path)
    assert missing.status_code == 404
    assert error_of(missing)["code"] == "0x80060891"
    created = api.patch(path, json={"firstname": "Pat"}, headers=REPRESENTATION)
    assert created.status_code == 201
    assert created.json()["emailaddress1"] == "o'brien@example.com"
    upsert = api.patch(path, json={"lastname": "O'Brien"})
    assert upsert.status_code == 204
    assert upsert.headers["OData-EntityId"].endswith(path)
    assert api.get("contacts(emailaddress1='O''BRIEN@example.com')").json()["lastname"] == "O'Brien"
    assert len(dataverse.rows("contacts")) == 1
    assert api.delete(path).status_code == 204
    assert dataverse.rows("contacts") == []


@pytest.mark.parametrize("value", ["a+b@example.com", "a/b@example.com", "a:b", "50%", "a&b", "a*b"])
def test_unsupported_characters_in_key_values(api, value):
    """docs/dataverse-webapi.md#36-alternate-keys: / < > * % & : \\ ? + are refused in key values (use $filter instead)."""
    response = api.get("contacts(emailaddress1='" + value.replace("%", "%25").replace("&", "%26").replace("+", "%2B") + "')")
    assert response.status_code == 400
    error_of(response)


def test_keys_must_match_a_declared_key(api):
    """docs/dataverse-webapi.md#36-alternate-keys: unknown key names or a non-GUID id are 400; systemusers(systemuserid=...) is refused."""
    assert api.get("contacts(firstname='A')").status_code == 400
    assert api.get("leads(12)").status_code == 400
    assert api.get(f"systemusers(systemuserid={uuid.uuid4()})").status_code == 400
    row_id = created_id(api.post("leads", json={"firstname": "A"}))
    assert api.get(f"leads(leadid={row_id})").status_code == 200


def test_single_property_read_write_clear(api):
    """docs/dataverse-webapi.md#32-update: GET/PUT/DELETE <set>(<id>)/<property>."""
    row_id = created_id(api.post("leads", json={"firstname": "A", "telephone1": "+1555"}))
    assert api.get(f"leads({row_id})/telephone1").json()["value"] == "+1555"
    assert api.put(f"leads({row_id})/telephone1", json={"value": "+1666"}).status_code == 204
    assert api.get(f"leads({row_id})/telephone1").json()["value"] == "+1666"
    assert api.delete(f"leads({row_id})/telephone1").status_code == 204
    assert api.get(f"leads({row_id})/telephone1").json()["value"] is None


def test_primary_key_in_body_must_match_the_url(api):
    """docs/dataverse-webapi.md#32-update: a body naming another row is refused."""
    row_id = created_id(api.post("leads", json={"firstname": "A"}))
    response = api.patch(f"leads({row_id})", json={"leadid": str(uuid.uuid4()), "firstname": "B"})
    assert response.status_code == 400

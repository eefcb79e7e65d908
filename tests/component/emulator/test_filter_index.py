"""`eq` filters answered through the equality index give exactly what a full scan gives,
before and after writes and rolled-back changesets (docs/emulator.md#speed)."""

from __future__ import annotations

from tests.component.emulator.web_api import API, batch, changeset, created_id, part


def lastnames(api, expression):
    response = api.get("contacts", params={"$filter": expression, "$select": "lastname", "$orderby": "lastname"})
    assert response.status_code == 200, response.text
    return [row["lastname"] for row in response.json()["value"]]


def test_index_follows_updates_creates_and_deletes(api):
    ana = created_id(api.post("contacts", json={"lastname": "Diaz", "emailaddress1": "ana@example.com"}))
    assert lastnames(api, "emailaddress1 eq 'ANA@example.com'") == ["Diaz"]
    assert api.patch(f"contacts({ana})", json={"emailaddress1": "ana@example.org"}).status_code == 204
    assert lastnames(api, "emailaddress1 eq 'ana@example.com'") == []
    assert lastnames(api, "emailaddress1 eq 'ana@example.org'") == ["Diaz"]
    api.post("contacts", json={"lastname": "Other", "telephone1": "+1 555"})
    assert api.patch(f"contacts({ana})", json={"telephone1": "+1 555"}).status_code == 204
    assert lastnames(api, "telephone1 eq '+1 555'") == ["Diaz", "Other"]
    assert api.delete(f"contacts({ana})").status_code == 204
    assert lastnames(api, "telephone1 eq '+1 555'") == ["Other"]


def test_equality_combined_with_and_or_and_not(api):
    for last, first in (("Diaz", "Ana"), ("Diaz", "Eve"), ("Patel", "Dev")):
        api.post("contacts", json={"lastname": last, "firstname": first})
    assert lastnames(api, "lastname eq 'Diaz' and firstname eq 'Eve'") == ["Diaz"]
    assert lastnames(api, "firstname eq 'Dev' or lastname eq 'Diaz'") == ["Diaz", "Diaz", "Patel"]
    assert lastnames(api, "not (lastname eq 'Diaz')") == ["Patel"]
    assert lastnames(api, "lastname eq null") == []


def test_index_after_a_rolled_back_changeset(api, dataverse):
    created_id(api.post("contacts", json={"lastname": "Kept", "emailaddress1": "k@example.com"}))
    assert lastnames(api, "emailaddress1 eq 'k@example.com'") == ["Kept"]
    # The first create of the changeset is written, then undone when the second fails.
    response = batch(api, changeset(
        part("POST", f"{API}contacts", {"lastname": "Gone", "emailaddress1": "g@example.com"}, content_id="1"),
        part("POST", f"{API}contacts", {"lastname": "Bad", "firstname": "x" * 51}, content_id="2"),
    ))
    assert response.status_code == 400 and "0x80044331" in response.text  # the length error, not a framing one
    assert lastnames(api, "emailaddress1 eq 'g@example.com'") == []
    dataverse.reset()
    assert lastnames(api, "emailaddress1 eq 'k@example.com'") == []

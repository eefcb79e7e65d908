"""The pure builders: method, path, headers, body and idempotency, without HTTP."""

import uuid

import pytest

from dataverse import request_builders

ID = "6f9619ff-8b86-d011-b42d-00c04fc964ff"


def test_create_is_retryable_only_with_a_client_chosen_key():
    plain = request_builders.create("leads", {"lastname": "x"})
    assert (plain.method, plain.path, plain.json, plain.idempotent) == ("POST", "leads", {"lastname": "x"}, False)
    keyed = request_builders.create("leads", {"leadid": ID, "lastname": "x"}, primary_key="leadid")
    assert keyed.idempotent
    assert not request_builders.create("leads", {"lastname": "x"}, primary_key="leadid").idempotent


def test_create_can_ask_for_the_row_back():
    req = request_builders.create("leads", {}, return_row=True, select=["leadid", "subject"])
    assert req.headers["Prefer"] == "return=representation"
    assert req.target == "leads?$select=leadid,subject"


def test_retrieve_by_id_and_by_alternate_key():
    assert request_builders.retrieve("leads", ID, select=["subject"]).target == f"leads({ID})?$select=subject"
    by_key = request_builders.retrieve("contacts", {"emailaddress1": "ana@example.com"})
    assert by_key.path == "contacts(emailaddress1='ana%40example.com')"
    assert by_key.headers == {"If-None-Match": "null"} and by_key.method == "GET"


def test_select_must_be_a_list_of_names():
    with pytest.raises(TypeError):
        request_builders.retrieve("leads", ID, select="subject")
    with pytest.raises(ValueError):
        request_builders.retrieve("leads", ID, select=["subject,fullname"])


def test_replace_related_puts_the_whole_collection():
    req = request_builders.replace_related("appointments", ID, "appointment_activity_parties", [{"participationtypemask": 5}], if_match='W/"3"')
    assert (req.method, req.path) == ("PUT", f"appointments({ID})/appointment_activity_parties")
    assert req.json == {"value": [{"participationtypemask": 5}]}
    assert req.headers["If-Match"] == 'W/"3"' and req.idempotent
    assert "If-Match" not in request_builders.replace_related("appointments", ID, "appointment_activity_parties", []).headers


def test_update_is_strict_by_default_and_takes_an_etag():
    assert request_builders.update("leads", ID, {"subject": "s"}).headers["If-Match"] == "*"
    assert request_builders.update("leads", ID, {}, if_match='W/"12"').headers["If-Match"] == 'W/"12"'


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, {}),
        ({"only": "create"}, {"If-None-Match": "*"}),
        ({"only": "update"}, {"If-Match": "*"}),
        ({"if_match": 'W/"5"'}, {"If-Match": 'W/"5"'}),
        ({"return_row": True}, {"Prefer": "return=representation"}),
    ],
)
def test_upsert_conditions(kwargs, expected):
    req = request_builders.upsert("appointments", ID, {"subject": "s"}, **kwargs)
    conditional = {k: v for k, v in req.headers.items() if k in ("If-Match", "If-None-Match", "Prefer")}
    assert conditional == expected
    assert req.method == "PATCH" and req.idempotent


def test_upsert_refuses_contradictory_conditions():
    with pytest.raises(ValueError):
        request_builders.upsert("appointments", ID, {}, only="create", if_match='W/"1"')
    with pytest.raises(ValueError):
        request_builders.upsert("appointments", ID, {}, only="sometimes")


def test_delete_treats_a_404_on_retry_as_done():
    req = request_builders.delete("bookableresourcebookings", uuid.UUID(ID), if_match='W/"3"')
    assert (req.method, req.headers, req.settled_on_retry) == ("DELETE", {"If-Match": 'W/"3"'}, frozenset({404}))


def test_set_state_patches_both_codes():
    req = request_builders.set_state("appointments", ID, statecode=2, statuscode=4)
    assert req.json == {"statecode": 2, "statuscode": 4} and req.headers["If-Match"] == "*"


def test_query_options_are_encoded_without_plus_signs():
    req = request_builders.query(
        "contacts", select=["contactid"], filter="emailaddress1 eq 'a+b@x.com' and statecode eq 0",
        orderby="createdon desc", top=5, expand="parentcustomerid_account($select=name)", page_size=50,
    )
    assert req.target == (
        "contacts?$select=contactid&$filter=emailaddress1%20eq%20'a%2Bb%40x.com'%20and%20statecode%20eq%200"
        "&$orderby=createdon%20desc&$top=5&$expand=parentcustomerid_account(%24select%3Dname)"
    )
    assert req.headers["Prefer"] == "odata.maxpagesize=50"


@pytest.mark.parametrize("kwargs", [{"top": 0}, {"page_size": 0}, {"page_size": 5001}])
def test_query_refuses_out_of_range_sizes(kwargs):
    with pytest.raises(ValueError):
        request_builders.query("contacts", **kwargs)


def test_next_page_is_sent_as_given():
    link = "http://127.0.0.1:1/api/data/v9.2/contacts?$skiptoken=%3Ccookie%20page=%222%22%20/%3E"
    req = request_builders.next_page(link, page_size=10)
    assert req.target == link and req.params == () and req.headers["Prefer"] == "odata.maxpagesize=10"


def test_bulk_actions_add_the_odata_type_to_every_target():
    rows = [{"name": "a"}, {"name": "b", "@odata.type": "wrong"}]
    req = request_builders.create_multiple("bookableresourcebookings", "bookableresourcebooking", rows)
    assert req.path == "bookableresourcebookings/Microsoft.Dynamics.CRM.CreateMultiple"
    assert [t["@odata.type"] for t in req.json["Targets"]] == ["Microsoft.Dynamics.CRM.bookableresourcebooking"] * 2
    assert rows[0] == {"name": "a"}, "the caller's rows are not modified"
    assert not req.idempotent
    assert request_builders.update_multiple("leads", "lead", []).idempotent and request_builders.upsert_multiple("leads", "lead", []).idempotent


def test_entity_set_for_logs_never_includes_the_key():
    assert request_builders.retrieve("contacts", {"emailaddress1": "ana@example.com"}).entity_set == "contacts"
    assert request_builders.next_page("https://x/api/data/v9.2/contacts?$skiptoken=1").entity_set == "contacts"
    assert request_builders.create_multiple("leads", "lead", []).entity_set == "leads"

"""FetchXML: the documented subset answers like Dataverse, anything else is a 400 naming it
(docs/emulator.md#fetchxml)."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from tests.emulator.conftest import error_of


@pytest.fixture
def people(dataverse):
    """Five contacts, two of them under an account; dates spread over three days."""
    contoso = dataverse.insert("accounts", {"name": "Contoso"})
    fabrikam = dataverse.insert("accounts", {"name": "Fabrikam"})
    rows = [
        ("Ana", "Diaz", "ana@example.com", contoso),
        ("Ben", "O'Neil", "ben@example.com", None),
        ("Carla", "Gomez", None, fabrikam),
        ("Dev", "Patel", "dev@example.org", None),
        ("Eve", "Diaz", "eve@example.org", None),
    ]
    ids = {}
    for first, last, email, account in rows:
        body = {"firstname": first, "lastname": last, "emailaddress1": email}
        if account:
            body["parentcustomerid_account@odata.bind"] = f"/accounts({account})"
        ids[first] = dataverse.insert("contacts", body)
    for day, first in ((1, "Ana"), (2, "Ben"), (3, "Carla")):
        dataverse.insert("appointments", {
            "subject": f"s{day}", "scheduledstart": f"2026-03-0{day}T10:00:00Z",
            "regardingobjectid_contact_appointment@odata.bind": f"/contacts({ids[first]})",
        })
    return {"contacts": ids, "contoso": contoso, "fabrikam": fabrikam}


def fetch(api, xml, entity_set="contacts", **headers):
    return api.get(entity_set, params={"fetchXml": xml}, headers=headers)


def firstnames(api, conditions, filter_type="and"):
    xml = (f'<fetch><entity name="contact"><attribute name="firstname"/><order attribute="firstname"/>'
           f'<filter type="{filter_type}">{conditions}</filter></entity></fetch>')
    response = fetch(api, xml)
    assert response.status_code == 200, response.text
    return [r["firstname"] for r in response.json()["value"]]


@pytest.mark.parametrize(("condition", "expected"), [
    ('<condition attribute="lastname" operator="eq" value="diaz"/>', ["Ana", "Eve"]),
    ('<condition attribute="lastname" operator="ne" value="Diaz"/>', ["Ben", "Carla", "Dev"]),
    ('<condition attribute="firstname" operator="gt" value="Carla"/>', ["Dev", "Eve"]),
    ('<condition attribute="firstname" operator="ge" value="Carla"/>', ["Carla", "Dev", "Eve"]),
    ('<condition attribute="firstname" operator="lt" value="Ben"/>', ["Ana"]),
    ('<condition attribute="firstname" operator="le" value="Ben"/>', ["Ana", "Ben"]),
    ('<condition attribute="emailaddress1" operator="like" value="%@example.org"/>', ["Dev", "Eve"]),
    ('<condition attribute="emailaddress1" operator="not-like" value="%.org"/>', ["Ana", "Ben"]),
    ('<condition attribute="lastname" operator="like" value="_iaz"/>', ["Ana", "Eve"]),
    ('<condition attribute="firstname" operator="in"><value>Ana</value><value>dev</value></condition>', ["Ana", "Dev"]),
    ('<condition attribute="firstname" operator="not-in"><value>Ana</value><value>Dev</value></condition>', ["Ben", "Carla", "Eve"]),
    ('<condition attribute="emailaddress1" operator="null"/>', ["Carla"]),
    ('<condition attribute="parentcustomerid" operator="not-null"/>', ["Ana", "Carla"]),
])
def test_condition_operators(api, people, condition, expected):
    assert firstnames(api, condition) == expected


def test_lookup_condition_by_guid_with_braces(api, people):
    condition = f'<condition attribute="parentcustomerid" operator="eq" value="{{{people["contoso"].upper()}}}"/>'
    assert firstnames(api, condition) == ["Ana"]


def test_nested_filters(api, people):
    conditions = ('<condition attribute="lastname" operator="eq" value="Diaz"/>'
                  '<filter type="and"><condition attribute="firstname" operator="eq" value="Dev"/>'
                  '<condition attribute="emailaddress1" operator="like" value="%.org"/></filter>')
    assert firstnames(api, conditions, "or") == ["Ana", "Dev", "Eve"]


def test_date_operators(api, people):
    def subjects(operator, value):
        xml = (f'<fetch><entity name="appointment"><attribute name="subject"/><order attribute="subject"/><filter>'
               f'<condition attribute="scheduledstart" operator="{operator}" value="{value}"/></filter></entity></fetch>')
        return [r["subject"] for r in fetch(api, xml, "appointments").json()["value"]]

    assert subjects("on-or-after", "2026-03-02") == ["s2", "s3"]
    assert subjects("on-or-before", "2026-03-02") == ["s1", "s2"]


def test_attributes_order_and_lookup_shape(api, people):
    xml = ('<fetch><entity name="contact"><attribute name="lastname"/><attribute name="parentcustomerid"/>'
           '<order attribute="lastname" descending="true"/><order attribute="firstname"/></entity></fetch>')
    body = fetch(api, xml, Prefer='odata.include-annotations="*"').json()
    assert [r["lastname"] for r in body["value"]] == ["Patel", "O'Neil", "Gomez", "Diaz", "Diaz"]
    ana = body["value"][3]
    assert ana["_parentcustomerid_value"] == people["contoso"]
    assert ana["_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "account"
    assert "firstname" not in ana and "contactid" in ana


def test_all_attributes_and_no_attributes(api, people):
    every = fetch(api, '<fetch top="1"><entity name="contact"><all-attributes/></entity></fetch>').json()["value"][0]
    assert {"firstname", "lastname", "emailaddress1", "_parentcustomerid_value", "statecode"} <= set(every)
    bare = fetch(api, '<fetch top="1"><entity name="contact"></entity></fetch>').json()["value"][0]
    assert set(bare) == {"@odata.etag", "contactid"}


def test_link_entity_inner_and_outer_many_to_one(api, people):
    def rows(link_type, link_filter=""):
        xml = (f'<fetch><entity name="contact"><attribute name="firstname"/><order attribute="firstname"/>'
               f'<link-entity name="account" from="accountid" to="parentcustomerid" link-type="{link_type}" alias="acc">'
               f'<attribute name="name"/>{link_filter}</link-entity></entity></fetch>')
        response = fetch(api, xml)
        assert response.status_code == 200, response.text
        return [(r["firstname"], r.get("acc.name")) for r in response.json()["value"]]

    assert rows("inner") == [("Ana", "Contoso"), ("Carla", "Fabrikam")]
    assert rows("outer") == [("Ana", "Contoso"), ("Ben", None), ("Carla", "Fabrikam"), ("Dev", None), ("Eve", None)]
    only_contoso = '<filter><condition attribute="name" operator="eq" value="Contoso"/></filter>'
    assert rows("inner", only_contoso) == [("Ana", "Contoso")]


def test_link_entity_one_to_many_repeats_the_parent(api, people, dataverse):
    dataverse.insert("appointments", {"subject": "s4", "regardingobjectid_contact_appointment@odata.bind": f"/contacts({people['contacts']['Ana']})"})
    xml = ('<fetch><entity name="contact"><attribute name="firstname"/><order attribute="firstname"/>'
           '<link-entity name="appointment" from="regardingobjectid" to="contactid" alias="ap"><attribute name="subject"/>'
           '</link-entity></entity></fetch>')
    rows = [(r["firstname"], r["ap.subject"]) for r in fetch(api, xml).json()["value"]]
    assert sorted(rows) == [("Ana", "s1"), ("Ana", "s4"), ("Ben", "s2"), ("Carla", "s3")]


def test_top(api, people):
    body = fetch(api, '<fetch top="2"><entity name="contact"><attribute name="firstname"/><order attribute="firstname"/></entity></fetch>').json()
    assert [r["firstname"] for r in body["value"]] == ["Ana", "Ben"]
    assert "@Microsoft.Dynamics.CRM.morerecords" not in body


def test_count_page_and_paging_cookie_round_trip(api, people):
    template = ('<fetch count="2" page="{page}"{cookie}><entity name="contact"><attribute name="firstname"/>'
                '<order attribute="firstname"/></entity></fetch>')
    seen, page, cookie = [], 1, ""
    while True:
        body = fetch(api, template.format(page=page, cookie=cookie)).json()
        seen += [r["firstname"] for r in body["value"]]
        if not body["@Microsoft.Dynamics.CRM.morerecords"]:
            assert "@Microsoft.Dynamics.CRM.fetchxmlpagingcookie" not in body
            break
        annotation = body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"]
        match = re.fullmatch(r'<cookie pagenumber="(\d+)" pagingcookie="([^"]+)" istracking="False" />', annotation)
        assert match and int(match.group(1)) == page + 1
        inner = unquote(unquote(match.group(2)))  # the way DynamicsWebApi reads it
        assert inner.startswith(f'<cookie page="{page}"><contactid last="{{')
        escaped = inner.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        page, cookie = page + 1, f' paging-cookie="{escaped}"'
    assert seen == ["Ana", "Ben", "Carla", "Dev", "Eve"] and page == 3


def test_aggregate_count_and_countcolumn(api, people):
    xml = ('<fetch aggregate="true"><entity name="contact"><attribute name="contactid" aggregate="count" alias="all"/>'
           '<attribute name="emailaddress1" aggregate="countcolumn" alias="with_email"/>'
           '<filter><condition attribute="lastname" operator="ne" value="Patel"/></filter></entity></fetch>')
    assert fetch(api, xml).json()["value"] == [{"all": 4, "with_email": 3}]


@pytest.mark.parametrize(("xml", "named"), [
    ('<fetch><entity name="contact"><filter><condition attribute="lastname" operator="begins-with" value="D"/></filter></entity></fetch>', "begins-with"),
    ('<fetch><entity name="contact"><attribute name="nosuch"/></entity></fetch>', "nosuch"),
    ('<fetch><entity name="contact"><attribute name="contactid" aggregate="max" alias="m"/></entity></fetch>', "max"),
    ('<fetch aggregate="true"><entity name="contact"><attribute name="contactid" aggregate="sum" alias="m"/></entity></fetch>', "sum"),
    ('<fetch distinct="true"><entity name="contact"/></fetch>', "distinct"),
    ('<fetch><entity name="contact"><link-entity name="account" from="accountid" to="parentcustomerid" link-type="any"/></entity></fetch>', "any"),
    ('<fetch><entity name="contact"><link-entity name="account" from="name" to="lastname"/></entity></fetch>', "from='name'"),
    ('<fetch><entity name="contact"><filter><condition entityname="a" attribute="name" operator="eq" value="x"/></filter></entity></fetch>', "entityname"),
    ('<fetch><entity name="lead"/></fetch>', "lead"),
    ('<fetch top="2" count="2"><entity name="contact"/></fetch>', "top"),
    ('<fetch count="0"><entity name="contact"/></fetch>', "count"),
    ('<fetch><entity name="contact"><attribute name="lastname"/><groupby/></entity></fetch>', "groupby"),
    ('<fetch foo="1"><entity name="contact"/></fetch>', "foo"),
    ('<fetch><entity name="contact"><filter><condition attribute="statecode" operator="eq" value="x"/></filter></entity></fetch>', "'x'"),
    ('<fetch><entity name="contact"><filter><condition attribute="lastname" operator="null" value="x"/></filter></entity></fetch>', "no value"),
    ('<!DOCTYPE x [<!ENTITY a "b">]><fetch><entity name="contact"/></fetch>', "DOCTYPE"),
    ("<fetch><entity name='contact'>", "well-formed"),
    ('<fetch page="2" paging-cookie="garbage"><entity name="contact"/></fetch>', "paging-cookie"),
    ('<fetch page="2" paging-cookie="&lt;!DOCTYPE c [&lt;!ENTITY a &quot;b&quot;&gt;]&gt;&lt;cookie/&gt;"><entity name="contact"/></fetch>', "DOCTYPE"),
    ('<fetch><entity name="contact"><filter>' + "<filter>" * 40 + "</filter>" * 40 + "</filter></entity></fetch>", "deeper"),
    ('<fetch><entity name="contact">' + '<link-entity name="contact" from="parentcustomerid" to="contactid">' * 40
     + "</link-entity>" * 40 + "</entity></fetch>", "deeper"),
    ('<fetch><entity name="contact"><filter>' + "<filter>" * 2000 + "</filter>" * 2000 + "</filter></entity></fetch>", "longer"),
])
def test_outside_the_subset_is_a_400_naming_it(api, people, xml, named):
    response = fetch(api, xml)
    assert response.status_code == 400, response.text
    assert named in error_of(response)["message"]


def test_fetch_xml_does_not_combine_with_other_options(api, people):
    response = api.get("contacts", params={"fetchXml": '<fetch><entity name="contact"/></fetch>', "$select": "lastname"})
    assert response.status_code == 400 and "$select" in error_of(response)["message"]
    response = fetch(api, '<fetch><entity name="contact"/></fetch>', Prefer="odata.maxpagesize=2")
    assert response.status_code == 400 and "maxpagesize" in error_of(response)["message"]
    ana = people["contacts"]["Ana"]
    response = api.get(f"contacts({ana})", params={"fetchXml": '<fetch><entity name="contact"/></fetch>'})
    assert response.status_code == 400 and "fetchXml" in error_of(response)["message"]


@pytest.mark.parametrize("option", ["savedQuery", "userQuery", "sql", "nosuchoption"])
def test_query_options_outside_the_emulator_are_refused_not_ignored(api, option):
    response = api.get("contacts", params={option: "00000000-0000-0000-0000-000000000001"})
    assert response.status_code == 400
    assert option in error_of(response)["message"]


def test_repeated_query_option_is_refused(api):
    response = api.get("contacts", params=[("$top", "1"), ("$top", "2")])
    assert response.status_code == 400
    assert "$top" in error_of(response)["message"]


def test_count_segment_honours_filter_and_refuses_other_options(api, people):
    assert api.get("contacts/$count", params={"$filter": "lastname eq 'Diaz'"}).text == "2"
    assert api.get("contacts/$count").text == "5"
    response = api.get("contacts/$count", params={"$top": "1"})
    assert response.status_code == 400 and "$count" in error_of(response)["message"]


def test_plug_in_tag_changes_nothing(api, people):
    assert len(api.get("contacts", params={"tag": "import"}).json()["value"]) == 5


@pytest.mark.parametrize(("method", "option"), [("POST", "$filter"), ("PATCH", "$top"), ("DELETE", "fetchXml")])
def test_writes_refuse_query_options_they_would_ignore(api, people, method, option):
    target = "contacts" if method == "POST" else f"contacts({people['contacts']['Ana']})"
    response = api.request(method, target, params={option: "1"}, json={"lastname": "X"} if method != "DELETE" else None)
    assert response.status_code == 400
    assert option in error_of(response)["message"]
    assert api.get(f"contacts({people['contacts']['Ana']})").status_code == 200  # nothing was deleted


def test_writes_accept_select_for_the_returned_row(api):
    response = api.post("contacts", params={"$select": "lastname"}, json={"lastname": "Y"},
                        headers={"Prefer": "return=representation"})
    assert response.status_code == 201 and response.json()["lastname"] == "Y" and "firstname" not in response.json()

"""Record-level security under `--auth entra`: a user-level user reaches only the rows they own,
organization-level users and application users reach every row; reads outside a user's access
are 403 0x80040220 or left out of queries, writes are refused (docs/emulator.md#tokens-and-record-level-security)."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest

API = "/api/data/v9.2/"
DENIED = "0x80048306"  # the record-level access check failed
NO_PRIVILEGE = "0x80040220"  # the role grants no privilege on the table


@pytest.fixture
def people(tokens, secured):
    """alice and bob at user level, olga at organization level, a daemon application user;
    two leads each for alice and bob, one of alice's with an appointment owned by bob."""
    alice, bob = tokens.user("alice"), tokens.user("bob")
    olga, daemon = tokens.user("olga", access="organization"), tokens.application("Integration daemon")
    leads = {}
    for owner, name in ((alice, "alice"), (bob, "bob")):
        leads[name] = [
            secured.insert("leads", {"lastname": f"{name}-{n}", "ownerid@odata.bind": f"/systemusers({owner.user_id})"})
            for n in range(2)
        ]
    secured.insert("appointments", {
        "subject": "bob's call about alice's lead",
        "regardingobjectid_lead_appointment@odata.bind": f"/leads({leads['alice'][0]})",
        "ownerid@odata.bind": f"/systemusers({bob.user_id})",
    })
    secured.insert("appointments", {
        "subject": "alice's own call",
        "regardingobjectid_lead_appointment@odata.bind": f"/leads({leads['alice'][0]})",
        "ownerid@odata.bind": f"/systemusers({alice.user_id})",
    })
    secured.clear_log()
    return {"alice": alice, "bob": bob, "olga": olga, "daemon": daemon, "leads": leads}


def get(web, secured, principal, path, **headers):
    return web.get(secured.url + API + path, headers={**principal.headers, **headers})


def names(response) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(row["lastname"] for row in response.json()["value"])


def test_a_user_level_user_sees_only_own_leads(web, secured, people):
    alice = people["alice"]
    assert names(get(web, secured, alice, "leads?$select=lastname")) == ["alice-0", "alice-1"]
    counted = get(web, secured, alice, "leads?$select=lastname&$count=true").json()
    assert counted["@odata.count"] == 2
    assert get(web, secured, alice, "leads/$count").text == "2"
    assert names(get(web, secured, alice, "leads?$select=lastname&$filter=startswith(lastname,'bob')")) == []


def test_paging_leaves_out_rows_of_others(web, secured, people):
    alice = people["alice"]
    seen, path = [], "leads?$select=lastname"
    headers = {"Prefer": "odata.maxpagesize=1"}
    response = get(web, secured, alice, path, **headers)
    while True:
        body = response.json()
        seen += [row["lastname"] for row in body["value"]]
        if "@odata.nextLink" not in body:
            break
        response = web.get(body["@odata.nextLink"], headers={**alice.headers, **headers})
    assert sorted(seen) == ["alice-0", "alice-1"]


def test_fetchxml_leaves_out_rows_of_others(web, secured, people):
    alice = people["alice"]
    fetch = '<fetch><entity name="lead"><attribute name="lastname" /></entity></fetch>'
    assert names(get(web, secured, alice, f"leads?fetchXml={quote(fetch)}")) == ["alice-0", "alice-1"]
    # A link to appointments joins only the ones alice may read.
    linked = ('<fetch><entity name="lead"><attribute name="lastname" /><link-entity name="appointment" '
              'from="regardingobjectid" to="leadid" alias="a"><attribute name="subject" /></link-entity></entity></fetch>')
    rows = get(web, secured, alice, f"leads?fetchXml={quote(linked)}").json()["value"]
    assert [row["a.subject"] for row in rows] == ["alice's own call"]
    counting = '<fetch aggregate="true"><entity name="lead"><attribute name="leadid" aggregate="count" alias="n" /></entity></fetch>'
    assert get(web, secured, alice, f"leads?fetchXml={quote(counting)}").json()["value"] == [{"n": 2}]


def test_expand_leaves_out_related_rows_of_others(web, secured, people):
    alice, olga = people["alice"], people["olga"]
    lead = people["leads"]["alice"][0]
    path = f"leads({lead})?$select=lastname&$expand=Lead_Appointments($select=subject)"
    assert [a["subject"] for a in get(web, secured, alice, path).json()["Lead_Appointments"]] == ["alice's own call"]
    assert len(get(web, secured, olga, path).json()["Lead_Appointments"]) == 2
    children = get(web, secured, alice, f"leads({lead})/Lead_Appointments?$select=subject").json()["value"]
    assert [a["subject"] for a in children] == ["alice's own call"]
    # bob's appointment is out of alice's reach, and so is its lookup expanded the other way.
    appointments = get(web, secured, alice, "appointments?$select=subject&$expand=regardingobjectid_lead_appointment($select=lastname)")
    assert [a["subject"] for a in appointments.json()["value"]] == ["alice's own call"]


def test_reading_another_users_lead_is_403(web, secured, people):
    alice = people["alice"]
    bobs = people["leads"]["bob"][0]
    for path in (f"leads({bobs})", f"leads({bobs})?$select=lastname", f"leads({bobs})/lastname", f"leads({bobs})/ownerid"):
        response = get(web, secured, alice, path)
        assert response.status_code == 403, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == DENIED and bobs in error["message"] and alice.user_id in error["message"]
    assert get(web, secured, alice, f"leads({people['leads']['alice'][0]})").status_code == 200
    missing = get(web, secured, alice, f"leads({uuid.uuid4()})")
    assert missing.status_code == 404  # a row that does not exist is still 404


@pytest.mark.parametrize("who", ["olga", "daemon"])
def test_organization_level_users_and_application_users_see_every_lead(web, secured, people, who):
    principal = people[who]
    assert names(get(web, secured, principal, "leads?$select=lastname")) == ["alice-0", "alice-1", "bob-0", "bob-1"]
    assert get(web, secured, principal, f"leads({people['leads']['bob'][0]})").status_code == 200
    assert secured.count(caller=principal.user_id) == 2


def test_rows_a_user_creates_are_theirs_and_ownerid_can_be_bound(web, secured, people):
    alice, bob = people["alice"], people["bob"]
    created = web.post(secured.url + API + "leads", json={"lastname": "alice-new"}, headers=alice.headers)
    assert created.status_code == 204, created.text
    lead_id = created.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    assert secured.row("leads", lead_id)["_ownerid_value"] == alice.user_id
    given = web.post(secured.url + API + "leads", headers=alice.headers,
                     json={"lastname": "for-bob", "ownerid@odata.bind": f"/systemusers({bob.user_id})"})
    given_id = given.headers["OData-EntityId"].rsplit("(", 1)[1].rstrip(")")
    assert secured.row("leads", given_id)["_ownerid_value"] == bob.user_id
    assert get(web, secured, alice, f"leads({given_id})").status_code == 403
    assert names(get(web, secured, bob, "leads?$select=lastname")) == ["bob-0", "bob-1", "for-bob"]


def test_writes_to_another_users_lead_are_refused(web, secured, people):
    alice = people["alice"]
    bobs = people["leads"]["bob"][0]
    url = secured.url + API + f"leads({bobs})"
    attempts = [
        web.patch(url, json={"lastname": "hijacked"}, headers={**alice.headers, "If-Match": "*"}),
        web.patch(url, json={"lastname": "hijacked"}, headers=alice.headers),  # upsert that would update
        web.delete(url, headers=alice.headers),
        web.put(url + "/lastname", json={"value": "hijacked"}, headers=alice.headers),
        web.put(url + "/ownerid/$ref", json={"@odata.id": f"systemusers({alice.user_id})"}, headers=alice.headers),
        web.post(secured.url + API + "leads/Microsoft.Dynamics.CRM.UpdateMultiple", headers=alice.headers, json={
            "Targets": [{"@odata.type": "Microsoft.Dynamics.CRM.lead", "leadid": people["leads"]["alice"][0],
                         "lastname": "fine"},
                        {"@odata.type": "Microsoft.Dynamics.CRM.lead", "leadid": bobs, "lastname": "hijacked"}]}),
        web.post(secured.url + API + "leads/Microsoft.Dynamics.CRM.UpsertMultiple", headers=alice.headers, json={
            "Targets": [{"@odata.type": "Microsoft.Dynamics.CRM.lead", "leadid": bobs, "lastname": "hijacked"}]}),
    ]
    for response in attempts:
        assert response.status_code == 403, (response.request.method, response.request.url, response.text)
        assert response.json()["error"]["code"] == DENIED
    assert secured.row("leads", bobs)["lastname"] == "bob-0"
    assert secured.row("leads", bobs)["_ownerid_value"] == people["bob"].user_id
    assert secured.row("leads", people["leads"]["alice"][0])["lastname"] == "alice-0"  # the bulk was all or nothing
    own = web.patch(secured.url + API + f"leads({people['leads']['alice'][1]})", json={"lastname": "renamed"},
                    headers={**alice.headers, "If-Match": "*"})
    assert own.status_code == 204 and secured.row("leads", people["leads"]["alice"][1])["lastname"] == "renamed"


def test_batch_items_act_as_the_caller(web, secured, people):
    alice = people["alice"]
    bobs, alices = people["leads"]["bob"][0], people["leads"]["alice"][0]

    def part(method, target, body=None):
        head = f"Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n{method} {API}{target} HTTP/1.1\r\n"
        if body is None:
            return head + "\r\n"
        return head + f"Content-Type: application/json\r\n\r\n{body}\r\n"

    body = (
        "--batch_x\r\n" + part("GET", f"leads({alices})?$select=lastname")
        + "--batch_x\r\n" + part("GET", f"leads({bobs})?$select=lastname")
        + "--batch_x\r\nContent-Type: multipart/mixed; boundary=changeset_y\r\n\r\n"
        + "--changeset_y\r\nContent-ID: 1\r\n" + part("PATCH", f"leads({alices})", '{"lastname": "changed"}')
        + "--changeset_y\r\nContent-ID: 2\r\n" + part("PATCH", f"leads({bobs})", '{"lastname": "hijacked"}')
        + "--changeset_y--\r\n--batch_x--\r\n"
    )
    response = web.post(secured.url + API + "$batch", content=body.encode(), headers={
        **alice.headers, "Content-Type": "multipart/mixed; boundary=batch_x", "Prefer": "odata.continue-on-error"})
    assert response.status_code == 200, response.text
    statuses = [line.split()[1] for line in response.text.splitlines() if line.startswith("HTTP/1.1")]
    assert statuses == ["200", "403", "403"]  # the failed changeset answers with its failing part alone
    assert DENIED in response.text
    assert secured.row("leads", alices)["lastname"] == "alice-0"  # the changeset rolled back
    assert secured.row("leads", bobs)["lastname"] == "bob-0"
    assert [r.caller for r in secured.requests] == [alice.user_id]


def test_organisation_owned_tables_are_read_only_below_organization_level(web, secured, people):
    alice, olga = people["alice"], people["olga"]
    statuses = get(web, secured, alice, "bookingstatuses")
    assert statuses.status_code == 200
    refused = web.post(secured.url + API + "bookingstatuses", json={"name": "X", "status": 1}, headers=alice.headers)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == NO_PRIVILEGE
    allowed = web.post(secured.url + API + "bookingstatuses", json={"name": "X", "status": 1}, headers=olga.headers)
    assert allowed.status_code == 204


def test_a_user_without_a_role_is_refused_everything(web, secured, tokens, people):
    nobody = tokens.user("nobody", access="none")
    for path in ("leads", f"leads({people['leads']['alice'][0]})", "leads/$count", "bookingstatuses"):
        response = get(web, secured, nobody, path)
        assert response.status_code == 403 and response.json()["error"]["code"] == NO_PRIVILEGE, path
    assert web.post(secured.url + API + "leads", json={"lastname": "x"}, headers=nobody.headers).status_code == 403
    assert get(web, secured, nobody, "WhoAmI").json()["UserId"] == nobody.user_id


def test_access_levels_are_emulator_controls_over_http(web, secured, people):
    alice = people["alice"]
    control = secured.url + "/_emulator/access-levels"
    assert web.get(control).json()["levels"][alice.user_id] == "user"
    assert web.put(f"{control}/{alice.user_id}", json={"level": "organization"}).status_code == 200
    assert len(names(get(web, secured, alice, "leads?$select=lastname"))) == 4
    assert web.put(f"{control}/{alice.user_id}", json={"level": "admin"}).status_code == 400
    assert web.get(secured.url + "/_emulator/count", params={"caller": alice.user_id}).json() == {"count": 1}


def test_binding_a_lookup_to_a_row_out_of_reach_is_refused(web, secured, people):
    """Append To: a user-level user cannot make an appointment regard, or a party name, another's lead."""
    alice, olga = people["alice"], people["olga"]
    bobs, alices = people["leads"]["bob"][0], people["leads"]["alice"][0]
    for body in ({"subject": "x", "regardingobjectid_lead_appointment@odata.bind": f"/leads({bobs})"},
                 {"subject": "x", "appointment_activity_parties": [
                     {"partyid_lead@odata.bind": f"/leads({bobs})", "participationtypemask": 5}]}):
        response = web.post(secured.url + API + "appointments", json=body, headers=alice.headers)
        assert response.status_code == 403 and response.json()["error"]["code"] == DENIED, response.text
        assert "AppendToAccess" in response.json()["error"]["message"]
    before = len(secured.rows("appointments"))
    own = web.post(secured.url + API + "appointments", headers=alice.headers,
                   json={"subject": "mine", "regardingobjectid_lead_appointment@odata.bind": f"/leads({alices})"})
    assert own.status_code == 204 and len(secured.rows("appointments")) == before + 1
    assert web.post(secured.url + API + "appointments", headers=olga.headers, json={
        "subject": "org", "regardingobjectid_lead_appointment@odata.bind": f"/leads({bobs})"}).status_code == 204

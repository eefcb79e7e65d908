"""Appointments: parties, state changes, the activitypointer view, cascades and the timeline page (docs/dataverse-webapi.md#28-appointment, #29-activityparty, #11-timeline, #1212-activities)."""

from __future__ import annotations

import pytest

from tests.component.emulator.web_api import created_id, error_of


@pytest.fixture
def people(dataverse) -> dict[str, str]:
    return {
        "lead": dataverse.insert("leads", {"firstname": "Ana", "lastname": "Diaz"}),
        "contact": dataverse.insert("contacts", {"firstname": "Carla", "emailaddress1": "carla@example.com"}),
        "user": dataverse.insert("systemusers", {"fullname": "Advisor", "internalemailaddress": "advisor@bank.example"}),
    }


def _appointment(api, people, parties=None) -> str:
    body = {
        "subject": "Mortgage consultation",
        "scheduledstart": "2026-01-20T20:00:00Z",
        "scheduledend": "2026-01-20T20:30:00Z",
        "regardingobjectid_lead_appointment@odata.bind": f"/leads({people['lead']})",
        "appointment_activity_parties": parties
        if parties is not None
        else [
            {"partyid_lead@odata.bind": f"/leads({people['lead']})", "participationtypemask": 5},
            {"partyid_systemuser@odata.bind": f"/systemusers({people['user']})", "participationtypemask": 7},
        ],
    }
    return created_id(api.post("appointments", json=body))


def test_deep_insert_creates_parties(api, dataverse, people):
    """docs/dataverse-webapi.md#29-activityparty, #1212-activities: appointment_activity_parties in the create body; defaults Open/Free."""
    appointment = _appointment(api, people)
    row = dataverse.row("appointments", appointment)
    assert (row["statecode"], row["statuscode"]) == (0, 1)
    parties = api.get(f"appointments({appointment})/appointment_activity_parties", params={"$select": "participationtypemask,_partyid_value"}).json()["value"]
    assert sorted((p["participationtypemask"], p["_partyid_value"]) for p in parties) == sorted([(5, people["lead"]), (7, people["user"])])
    assert all(p["_activityid_value"] == appointment for p in dataverse.rows("activityparties"))


def test_a_bad_party_rolls_back_the_whole_create(api, dataverse, people):
    """docs/dataverse-webapi.md#31-create (deep insert is one transaction), #29-activityparty: an invalid mask (0x80094006) leaves nothing."""
    response = api.post("appointments", json={"subject": "x", "appointment_activity_parties": [
        {"partyid_lead@odata.bind": f"/leads({people['lead']})", "participationtypemask": 5},
        {"partyid_contact@odata.bind": f"/contacts({people['contact']})", "participationtypemask": 1},
    ]})
    assert response.status_code == 400
    assert error_of(response)["code"] == "0x80094006"
    assert dataverse.rows("appointments") == [] and dataverse.rows("activityparties") == []


def test_put_replaces_all_parties(api, dataverse, people):
    """docs/dataverse-webapi.md#29-activityparty: PUT appointments(<id>)/appointment_activity_parties with {"value": [...]}."""
    appointment = _appointment(api, people)
    replacement = {"value": [{"partyid_contact@odata.bind": f"/contacts({people['contact']})", "participationtypemask": 6}]}
    assert api.put(f"appointments({appointment})/appointment_activity_parties", json=replacement).status_code == 204
    parties = dataverse.rows("activityparties", annotations=True)
    assert [(p["participationtypemask"], p["_partyid_value"], p["_partyid_value@Microsoft.Dynamics.CRM.lookuplogicalname"]) for p in parties] == [(6, people["contact"], "contact")]
    assert api.put(f"appointments({appointment})/appointment_activity_parties", json={"value": "x"}).status_code == 400


def test_deep_insert_only_on_create(api, people):
    """docs/dataverse-webapi.md#29-activityparty: parties change through PUT-replace, not in a PATCH body."""
    appointment = _appointment(api, people)
    response = api.patch(f"appointments({appointment})", json={"appointment_activity_parties": []})
    assert response.status_code == 400


@pytest.mark.parametrize(("body", "state", "status"), [
    ({"statecode": 2, "statuscode": 4}, 2, 4),
    ({"statecode": 1, "statuscode": 3}, 1, 3),
    ({"statecode": 2}, 2, 4),
    ({"statuscode": 3}, 1, 3),
    ({"statecode": 3, "statuscode": 6}, 3, 6),
])
def test_valid_state_changes(api, dataverse, people, body, state, status):
    """docs/dataverse-webapi.md#28-appointment, #1212-activities: PATCH statecode/statuscode with the valid pairs (a missing half is derived)."""
    appointment = _appointment(api, people)
    assert api.patch(f"appointments({appointment})", json=body, headers={"If-Match": "*"}).status_code == 204
    row = dataverse.row("appointments", appointment)
    assert (row["statecode"], row["statuscode"]) == (state, status)


@pytest.mark.parametrize("body", [{"statecode": 2, "statuscode": 3}, {"statecode": 1, "statuscode": 1}, {"statecode": 4}, {"statuscode": 9}])
def test_invalid_state_pairs_are_400(api, dataverse, people, body):
    """docs/dataverse-webapi.md#28-appointment: a status that does not belong to the state is refused; nothing changes."""
    appointment = _appointment(api, people)
    before = dataverse.row("appointments", appointment)
    response = api.patch(f"appointments({appointment})", json=body)
    assert response.status_code == 400
    error_of(response)
    assert dataverse.row("appointments", appointment) == before


def test_activitypointers_view(api, people):
    """docs/dataverse-webapi.md#11-timeline, #1212-activities: every appointment appears in activitypointers with the same id; the view is read-only."""
    appointment = _appointment(api, people)
    timeline = api.get("activitypointers", params={
        "$select": "subject,activitytypecode,scheduledstart,statecode",
        "$filter": f"_regardingobjectid_value eq {people['lead']}",
        "$orderby": "scheduledstart desc",
    }).json()["value"]
    assert [(a["activityid"], a["activitytypecode"], a["subject"]) for a in timeline] == [(appointment, "appointment", "Mortgage consultation")]
    assert api.post("activitypointers", json={"subject": "x"}).status_code == 400
    assert api.get(f"activitypointers({appointment})").json()["scheduledstart"] == "2026-01-20T20:00:00Z"


def test_deleting_an_appointment_deletes_its_parties(api, dataverse, people):
    """docs/dataverse-webapi.md#29-activityparty: parties belong to their activity."""
    appointment = _appointment(api, people)
    assert api.delete(f"appointments({appointment})").status_code == 204
    assert dataverse.rows("activityparties") == []
    assert dataverse.row("leads", people["lead"]) is not None


def test_timeline_page_lists_appointments_newest_first_escaped(api, dataverse, people):
    """docs/dataverse-webapi.md#11-timeline (docs/emulator.md#running-it: /_emulator/timeline): regarding appointments, newest first, every value escaped."""
    for day, subject in ((20, "<b>old</b>"), (22, "new & shiny")):
        dataverse.insert("appointments", {
            "subject": subject, "location": "Room <1>", "scheduledstart": f"2026-01-{day}T10:00:00Z",
            "regardingobjectid_lead_appointment@odata.bind": f"/leads({people['lead']})",
        })
    dataverse.insert("appointments", {"subject": "someone else's"})
    page = api.get(f"{dataverse.url}/_emulator/timeline/leads/{people['lead']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "<b>old</b>" not in html and "&lt;b&gt;old&lt;/b&gt;" in html
    assert html.index("new &amp; shiny") < html.index("&lt;b&gt;old")
    assert "Room &lt;1&gt;" in html and "someone else" not in html
    assert api.get(f"{dataverse.url}/_emulator/timeline/leads/{people['contact']}").status_code == 404

import pytest

from dataverse.activity_parties import OPTIONAL, ORGANIZER, REQUIRED, party

ID = "6f9619ff-8b86-d011-b42d-00c04fc964ff"


def test_party_shapes():
    assert party("lead", ID, REQUIRED) == {"partyid_lead@odata.bind": f"/leads({ID})", "participationtypemask": 5}
    assert party("systemusers", ID, ORGANIZER) == {
        "partyid_systemuser@odata.bind": f"/systemusers({ID})", "participationtypemask": 7,
    }
    assert party("new_thing", ID, OPTIONAL, entity_set="new_thingies")["partyid_new_thing@odata.bind"] == (
        f"/new_thingies({ID})"
    )


def test_party_refuses_other_participations_and_bad_ids():
    with pytest.raises(ValueError):
        party("lead", ID, 8)
    with pytest.raises(ValueError):
        party("lead", "not-a-guid", REQUIRED)

"""WhoAmI: the calling user's ids, the seeded caller while tokens are not checked (docs/emulator.md#whoami)."""

from __future__ import annotations

import pytest

from tests.component.emulator.web_api import error_of


@pytest.mark.parametrize("path", ["WhoAmI", "WhoAmI()"])
def test_who_am_i_names_the_seeded_caller(api, path):
    response = api.get(path)
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith("/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse")
    assert set(body) == {"@odata.context", "BusinessUnitId", "UserId", "OrganizationId"}
    assert len({body["BusinessUnitId"], body["UserId"], body["OrganizationId"]}) == 3
    user = api.get(f"systemusers({body['UserId']})", params={"$select": "fullname,isdisabled"})
    assert user.status_code == 200 and user.json()["isdisabled"] is False


def test_who_am_i_is_stable_across_reset(api, dataverse):
    first = api.get("WhoAmI").json()
    dataverse.reset()
    assert api.get("WhoAmI()").json() == first


def test_who_am_i_is_a_function_not_an_action(api):
    response = api.post("WhoAmI", json={})
    assert response.status_code == 405
    error_of(response)


def test_who_am_i_refuses_query_options(api):
    response = api.get("WhoAmI", params={"$select": "UserId"})
    assert response.status_code == 400
    assert "$select" in error_of(response)["message"]


def test_wrong_case_function_name_is_not_found(api):
    assert api.get("whoami").status_code == 404

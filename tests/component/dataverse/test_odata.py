"""OData literals, keys and filters: escaping is what keeps values from changing a query."""

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import unquote

import pytest

from dataverse import odata


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("O'Brien", "'O''Brien'"),
        ("''", "''''''"),
        ("", "''"),
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-1.5, "-1.5"),
        (Decimal("10.50"), "10.50"),
        (uuid.UUID("6F9619FF-8B86-D011-B42D-00C04FC964FF"), "6f9619ff-8b86-d011-b42d-00c04fc964ff"),
        (datetime(2026, 1, 20, 15, 0, 30, 999, tzinfo=timezone(timedelta(hours=-5))), "2026-01-20T20:00:30Z"),
        (date(2026, 3, 1), "2026-03-01"),
    ],
)
def test_literal(value, expected):
    assert odata.literal(value) == expected


@pytest.mark.parametrize("value", [datetime(2026, 1, 1), float("nan"), float("inf"), object(), [1]])
def test_literal_refuses_values_without_a_safe_form(value):
    with pytest.raises((ValueError, TypeError)):
        odata.literal(value)


def test_a_quote_cannot_break_out_of_a_filter_literal():
    hostile = "x' or statecode eq 0 or name eq '"
    text = f"name eq {odata.literal(hostile)}"
    # Inside the literal every quote is doubled, so the literal spans to the very end.
    inner = text[len("name eq '") : -1]
    assert inner.replace("''", "").count("'") == 0


def test_guid_normalises_and_validates():
    assert odata.guid("6F9619FF-8B86-D011-B42D-00C04FC964FF") == "6f9619ff-8b86-d011-b42d-00c04fc964ff"
    for bad in ["", "not-a-guid", "6F9619FF8B86D011B42D00C04FC964FF", "{6F9619FF-8B86-D011-B42D-00C04FC964FF}", 5]:
        with pytest.raises(ValueError):
            odata.guid(bad)


def test_key_for_a_guid_and_for_an_alternate_key():
    assert odata.key("6F9619FF-8B86-D011-B42D-00C04FC964FF") == "6f9619ff-8b86-d011-b42d-00c04fc964ff"
    predicate = odata.key({"firstname": "Ann Marie", "emailaddress1": "o'hara@example.com", "number": 7})
    assert unquote(predicate) == "firstname='Ann Marie',emailaddress1='o''hara@example.com',number=7"
    assert " " not in predicate and "@" not in predicate


@pytest.mark.parametrize("char", list("/<>*%&:\\?+"))
def test_key_refuses_characters_dataverse_keys_cannot_hold(char):
    with pytest.raises(ValueError, match="use a \\$filter"):
        odata.key({"emailaddress1": f"ana{char}x@example.com"})


@pytest.mark.parametrize("bad", [{}, {"bad name": "x"}, {"a": None}, "leads", "O'Brien"])
def test_key_refuses_malformed_keys(bad):
    with pytest.raises(ValueError):
        odata.key(bad)


def test_bind():
    assert odata.bind("leads", uuid.UUID(int=1)) == "/leads(00000000-0000-0000-0000-000000000001)"
    with pytest.raises(ValueError):
        odata.bind("leads)/x(", uuid.UUID(int=1))


def test_in_filters_split_to_stay_under_the_url_limit():
    emails = [f"user{i}@example.com" for i in range(300)] + ["user1@example.com"]
    filters = odata.in_filters("emailaddress1", emails, max_url_chars=1000)
    assert len(filters) > 1
    from urllib.parse import quote

    assert all(len(quote(f, safe="")) <= 1000 for f in filters)
    seen = []
    for f in filters:
        assert f.startswith("Microsoft.Dynamics.CRM.In(PropertyName='emailaddress1',PropertyValues=[")
        seen += f[f.index("[") + 1 : -2].replace('"', "").split(",")
    assert seen == [f"user{i}@example.com" for i in range(300)]


def test_in_filters_escape_values_and_handle_empty_input():
    (only,) = odata.in_filters("lastname", ['say "hi"', "O'Brien"])
    assert '"say \\"hi\\""' in only and "\"O'Brien\"" in only
    assert odata.in_filters("lastname", []) == []
    with pytest.raises(ValueError):
        odata.in_filters("lastname", ["x" * 500], max_url_chars=100)
    with pytest.raises(ValueError):
        odata.in_filters("last name", ["x"])

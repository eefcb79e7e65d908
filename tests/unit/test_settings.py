"""docs/spec.md#1-settings: settings are validated in one place, every problem named, no secret echoed."""

import pytest

from integration.settings import SettingsError, load_settings
from tests.support.settings import VALID
from tests.support.settings import WEBHOOK_SECRET as SECRET


def problems_of(env: dict[str, str]) -> dict[str, str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    return {p.name: p.message for p in caught.value.problems}


def test_valid_settings_and_defaults():
    s = load_settings(VALID)
    assert s.dataverse_auth == "azure"
    assert s.booking_source == "booking"
    assert s.booking_api_key is None
    assert s.appointment_version_column is None
    assert s.booking_webhook_secrets == (SECRET,)
    assert SECRET not in repr(s)


def test_all_missing_required_settings_are_named_at_once():
    assert set(problems_of({})) == {
        "DATAVERSE_URL", "BOOKING_API_URL", "BOOKING_REDIRECT_URL", "BOOKING_WEBHOOK_SECRET",
    }


@pytest.mark.parametrize(
    "name, value",
    [
        ("DATAVERSE_URL", "https://contoso.crm.dynamics.com/api/data/v9.2"),
        ("DATAVERSE_URL", "http://contoso.crm.dynamics.com"),
        ("DATAVERSE_URL", "contoso"),
        ("DATAVERSE_AUTH", "basic"),
        ("BOOKING_REDIRECT_URL", "https://book.example.com/start"),
        ("BOOKING_REDIRECT_URL", "https://{sessionId}.example.com/"),
        ("BOOKING_REDIRECT_URL", "javascript:alert({sessionId})"),
        ("BOOKING_WEBHOOK_SECRET", "not-a-secret"),
        ("BOOKING_WEBHOOK_SECRET", "whsec_!!!"),
        ("BOOKING_SOURCE", "has spaces"),
        ("APPOINTMENT_VERSION_COLUMN", "New Version"),
    ],
)
def test_malformed_setting_is_named(name, value):
    problems = problems_of({**VALID, name: value})
    assert list(problems) == [name]
    assert value not in problems[name] or name == "DATAVERSE_AUTH"


def test_auth_none_only_for_loopback():
    assert list(problems_of({**VALID, "DATAVERSE_AUTH": "none"})) == ["DATAVERSE_AUTH"]
    for url in ("http://127.0.0.1:5555", "http://localhost:5555", "http://[::1]:5555"):
        assert load_settings({**VALID, "DATAVERSE_URL": url, "DATAVERSE_AUTH": "none"}).dataverse_auth == "none"


def test_several_secrets_for_rotation():
    other = "whsec_b3RoZXItd2ViaG9vay1zZWNyZXQtYWJjZGVm"
    s = load_settings({**VALID, "BOOKING_WEBHOOK_SECRET": f"{SECRET}  {other}"})
    assert s.booking_webhook_secrets == (SECRET, other)
    problems = problems_of({**VALID, "BOOKING_WEBHOOK_SECRET": f"{SECRET} bogus"})
    assert "#2" in problems["BOOKING_WEBHOOK_SECRET"]

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
    assert s.schedule_import_sync_seconds == 150
    assert SECRET not in repr(s)
    assert load_settings({**VALID, "SCHEDULE_IMPORT_SYNC_SECONDS": " 180 "}).schedule_import_sync_seconds == 180


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
        ("SCHEDULE_IMPORT_SYNC_SECONDS", "000"),
        ("SCHEDULE_IMPORT_SYNC_SECONDS", "181"),
        ("SCHEDULE_IMPORT_SYNC_SECONDS", "1.5"),
        ("SCHEDULE_IMPORT_SYNC_SECONDS", "\u00b2"),
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


TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT = "11111111-2222-4333-8444-555555555555"
ENTRA = {**VALID, "SESSION_AUTH": "entra", "ENTRA_TENANT_ID": TENANT, "ENTRA_CLIENT_ID": CLIENT,
         "SESSION_API_AUDIENCE": "api://booking-api  " + CLIENT}


def test_session_auth_defaults_to_key_and_needs_nothing_else():
    s = load_settings(VALID)
    assert s.session_auth == "key" and s.entra is None


def test_entra_settings_and_their_defaults():
    s = load_settings({**ENTRA, "ENTRA_CLIENT_SECRET": "entra-secret-value", "SESSION_AUTH": "Entra"})
    assert s.session_auth == "entra"
    assert s.entra.authority == "https://login.microsoftonline.com"
    assert s.entra.scope == "Booking.Start"
    assert s.entra.audiences == ("api://booking-api", CLIENT)
    assert s.entra.issuer == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert s.entra.jwks_url == f"https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys"
    assert "entra-secret-value" not in repr(s) + repr(s.entra)
    local = load_settings({**ENTRA, "ENTRA_AUTHORITY": "https://127.0.0.1:5557/", "ENTRA_TENANT_ID": TENANT.upper()})
    assert local.entra.issuer == f"https://127.0.0.1:5557/{TENANT}/v2.0"
    assert local.entra.client_secret is None


def test_entra_mode_names_every_missing_setting():
    assert set(problems_of({**VALID, "SESSION_AUTH": "entra"})) == {
        "ENTRA_TENANT_ID", "ENTRA_CLIENT_ID", "SESSION_API_AUDIENCE",
    }


@pytest.mark.parametrize(
    "name, value",
    [
        ("SESSION_AUTH", "bearer"),
        ("ENTRA_TENANT_ID", "contoso.onmicrosoft.com"),
        ("ENTRA_CLIENT_ID", "booking-api"),
        ("ENTRA_AUTHORITY", "http://login.microsoftonline.com"),
        ("ENTRA_AUTHORITY", "login.microsoftonline.com"),
        ("ENTRA_AUTHORITY", "https://user@login.example/"),
        ("ENTRA_AUTHORITY", "https://login.example:99999"),
        ("SESSION_API_SCOPE", "Booking.Start Booking.Other"),
        ("SESSION_API_AUDIENCE", " ".join(f"api://a{i}" for i in range(11))),
    ],
)
def test_malformed_entra_setting_is_named(name, value):
    assert list(problems_of({**ENTRA, name: value})) == [name]

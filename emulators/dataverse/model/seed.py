"""Rows every environment starts with, and the optional demo data set (`--seed-demo`)."""

from __future__ import annotations

import uuid

from emulators.dataverse.model.tables import BOOKING_SETUP_METADATA_ID

Seed = list[tuple[str, dict[str, object]]]
_NAMESPACE = uuid.UUID("6f1c2d3e-4b5a-4c6d-8e7f-90a1b2c3d4e5")

# The calling user, until the emulator checks tokens: every request acts as this systemuser
# (WhoAmI answers its ids). Fixed so clients and tests can rely on them.
CALLER_USER_ID = "a0f1c2d3-0000-4000-8000-00000000ca11"
CALLER_EMAIL = "caller@emulator.invalid"
BUSINESS_UNIT_ID = "a0f1c2d3-0000-4000-8000-0000000000b1"
ORGANIZATION_ID = "a0f1c2d3-0000-4000-8000-0000000000a1"


def demo_id(name: str) -> str:
    """Stable ids, so demo links and bookmarks survive a restart."""
    return str(uuid.uuid5(_NAMESPACE, name))


def base_rows() -> Seed:
    """The WEM booking setup metadata record every WEM-enabled org has (docs/dataverse-webapi.md#24-wem-tables)."""
    return [
        (
            "msdyn_bookingsetupmetadatas",
            {"msdyn_bookingsetupmetadataid": BOOKING_SETUP_METADATA_ID, "msdyn_entitylogicalname": "bookableresourcebooking"},
        )
    ]


def caller_rows() -> Seed:
    """The calling user every environment has (WhoAmI answers its ids)."""
    return [
        (
            "systemusers",
            {
                "systemuserid": CALLER_USER_ID,
                "firstname": "Emulator",
                "lastname": "Caller",
                "fullname": "Emulator Caller",
                "internalemailaddress": CALLER_EMAIL,
                "isdisabled": False,
            },
        ),
    ]


def demo_rows() -> Seed:
    """A few customers, agents and reference data to click through without an API client."""
    agents = [
        ("alex", "Alex", "Smith", "a.smith@contoso.com"),
        ("blair", "Blair", "Jones", "b.jones@contoso.com"),
        ("advisor", "Casey", "Advisor", "advisor@bank.example"),
    ]
    rows: Seed = [
        (
            "systemusers",
            {
                "systemuserid": demo_id(f"user:{key}"),
                "firstname": first,
                "lastname": last,
                "fullname": f"{first} {last}",
                "internalemailaddress": email,
                "isdisabled": False,
            },
        )
        for key, first, last, email in agents
    ]
    leads = [
        ("ana", "Ana", "Diaz", "ana@example.com", "+15555550100"),
        ("ben", "Ben", "O'Neil", "ben@example.com", "+15555550101"),
    ]
    rows += [
        (
            "leads",
            {
                "leadid": demo_id(f"lead:{key}"),
                "firstname": first,
                "lastname": last,
                "emailaddress1": email,
                "telephone1": phone,
                "subject": f"Enquiry from {first} {last}",
            },
        )
        for key, first, last, email, phone in leads
    ]
    contacts = [
        ("carla", "Carla", "Gomez", "carla@example.com", "+15555550102"),
        ("dev", "Dev", "Patel", "dev@example.com", "+15555550103"),
    ]
    rows += [
        (
            "contacts",
            {
                "contactid": demo_id(f"contact:{key}"),
                "firstname": first,
                "lastname": last,
                "emailaddress1": email,
                "telephone1": phone,
            },
        )
        for key, first, last, email, phone in contacts
    ]
    rows += [
        ("bookingstatuses", {"bookingstatusid": demo_id(f"status:{name}"), "name": name, "status": status})
        for name, status in (("Proposed", 1), ("Committed", 2), ("Canceled", 3), ("Scheduled", 2))
    ]
    rows += [
        (
            "bookableresources",
            {
                "bookableresourceid": demo_id("resource:alex"),
                "name": "Alex Smith",
                "resourcetype": 3,
                "timezone": 85,
                "UserId@odata.bind": f"/systemusers({demo_id('user:alex')})",
            },
        ),
        (
            "msdyn_shiftactivitytypes",
            {
                "msdyn_shiftactivitytypeid": demo_id("activity:phone"),
                "msdyn_name": "Phone - Inbound",
                "msdyn_shiftassignmentstatus": 192350000,
            },
        ),
        (
            "appointments",
            {
                "activityid": demo_id("appointment:ana-intro"),
                "subject": "Intro call",
                "location": "Phone",
                "description": "Demo appointment",
                "scheduledstart": "2026-01-20T15:00:00Z",
                "scheduledend": "2026-01-20T15:30:00Z",
                "regardingobjectid_lead_appointment@odata.bind": f"/leads({demo_id('lead:ana')})",
                "appointment_activity_parties": [
                    {"partyid_lead@odata.bind": f"/leads({demo_id('lead:ana')})", "participationtypemask": 5},
                    {
                        "partyid_systemuser@odata.bind": f"/systemusers({demo_id('user:advisor')})",
                        "participationtypemask": 7,
                    },
                ],
            },
        ),
    ]
    return rows

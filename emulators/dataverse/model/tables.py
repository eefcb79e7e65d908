"""The tables the integration touches, with real column names, lengths and option values.

Sources are the sections of docs/dataverse-webapi.md#2-tables; values marked
UNCONFIRMED there are chosen to look like the documented behaviour and say so here.
"""

from __future__ import annotations

from collections.abc import Mapping

from emulators.dataverse.model.schema import Collection, Column, Kind, Lookup, StateModel, Table

BOOKING_SETUP_METADATA_ID = "4beb9fdb-48e9-453f-b008-5862ff902c5d"

CUSTOM_KINDS = {
    "string": Kind.STRING,
    "text": Kind.STRING,
    "memo": Kind.MEMO,
    "int": Kind.INTEGER,
    "integer": Kind.INTEGER,
    "bigint": Kind.BIGINT,
    "decimal": Kind.DECIMAL,
    "float": Kind.DECIMAL,
    "bool": Kind.BOOLEAN,
    "boolean": Kind.BOOLEAN,
    "datetime": Kind.DATETIME,
    "date": Kind.DATEONLY,
    "guid": Kind.GUID,
}
CUSTOM_DEFAULT_LENGTH = {Kind.STRING: 100, Kind.MEMO: 2000}

ACTIVE_INACTIVE = StateModel({0: (1,), 1: (2,)})
STATE_LABELS = {0: "Active", 1: "Inactive"}
STATUS_LABELS = {1: "Active", 2: "Inactive"}
# User-owned tables: `ownerid`, bound with ownerid@odata.bind to /systemusers(id) (teams are not
# emulated); a create without it is owned by the caller (docs/emulator.md#tokens-and-record-level-security).
OWNER = "ownerid"
OWNER_LOOKUP = Lookup(OWNER, {OWNER: "systemuser"})


def _system_columns(table_pk: str) -> list[Column]:
    return [
        Column(table_pk, Kind.GUID),
        Column("createdon", Kind.DATETIME, writable=False),
        Column("modifiedon", Kind.DATETIME, writable=False),
        Column("versionnumber", Kind.BIGINT, writable=False),
    ]


def _state_columns(states: Mapping[int, str], statuses: Mapping[int, str]) -> list[Column]:
    return [Column("statecode", Kind.STATE, options=states), Column("statuscode", Kind.STATUS, options=statuses)]


def _table(
    logical: str,
    entity_set: str,
    pk: str,
    primary_name: str,
    columns: list[Column],
    **extra: object,
) -> Table:
    return Table(
        logical_name=logical,
        entity_set=entity_set,
        primary_key=pk,
        primary_name=primary_name,
        columns={c.name: c for c in _system_columns(pk) + columns},
        **extra,  # type: ignore[arg-type]
    )


def _person_columns() -> list[Column]:
    return [
        Column("firstname", Kind.STRING, 50),  # max 50 is UNCONFIRMED (docs/dataverse-webapi.md#26-lead)
        Column("lastname", Kind.STRING, 50),
        Column("fullname", Kind.STRING, 160, writable=False),
        Column("emailaddress1", Kind.STRING, 100),
        Column("telephone1", Kind.STRING, 50),
        Column("mobilephone", Kind.STRING, 50),
    ]


def standard_tables() -> list[Table]:
    """Every table of docs/dataverse-webapi.md#2-tables, before custom columns are added."""
    regarding_targets = {
        "regardingobjectid_lead_appointment": "lead",
        "regardingobjectid_contact_appointment": "contact",
        "regardingobjectid_account_appointment": "account",
        "regardingobjectid_bookableresourcebooking_appointment": "bookableresourcebooking",
    }
    appointment_states = {0: "Open", 1: "Completed", 2: "Canceled", 3: "Scheduled"}
    appointment_statuses = {1: "Free", 2: "Tentative", 3: "Completed", 4: "Canceled", 5: "Busy", 6: "Out of Office"}
    appointment_state_model = StateModel({0: (1, 2), 1: (3,), 2: (4,), 3: (5, 6)})
    activity_columns = [
        Column("subject", Kind.STRING, 200),
        Column("description", Kind.MEMO, 2000),  # max length UNCONFIRMED
        Column("scheduledstart", Kind.DATETIME),
        Column("scheduledend", Kind.DATETIME),
        Column("scheduleddurationminutes", Kind.INTEGER),
        *_state_columns(appointment_states, appointment_statuses),
    ]
    return [
        _table(
            "systemuser",
            "systemusers",
            "systemuserid",
            "fullname",
            [
                Column("firstname", Kind.STRING, 64),
                Column("lastname", Kind.STRING, 64),
                # Computed from first/last name in Dataverse; writable here so seeds can name users.
                Column("fullname", Kind.STRING, 200),
                Column("internalemailaddress", Kind.STRING, 100),
                Column("domainname", Kind.STRING, 1024),
                Column("isdisabled", Kind.BOOLEAN, default=False),
                # The Entra ID object id of a user, and the client id of an application user:
                # how a token's `oid` / `appid` find their systemuser (docs/emulator.md).
                Column("azureactivedirectoryobjectid", Kind.GUID),
                Column("applicationid", Kind.GUID),
            ],
        ),
        _table(
            "lead",
            "leads",
            "leadid",
            "fullname",
            [
                Column("subject", Kind.STRING, 300),
                *_person_columns(),
                Column("companyname", Kind.STRING, 100),
                Column("description", Kind.MEMO, 2000),
                *_state_columns(
                    {0: "Open", 1: "Qualified", 2: "Disqualified"},
                    {
                        1: "New",
                        2: "Contacted",
                        3: "Qualified",
                        4: "Lost",
                        5: "Cannot Contact",
                        6: "No Longer Interested",
                        7: "Canceled",
                    },
                ),
            ],
            lookups={OWNER: OWNER_LOOKUP},
            collections={
                "Lead_Appointments": Collection("Lead_Appointments", "appointment", "regardingobjectid"),
                "lead_activity_parties": Collection("lead_activity_parties", "activityparty", "partyid"),
            },
            states=StateModel({0: (1, 2), 1: (3,), 2: (4, 5, 6, 7)}),
        ),
        _table(
            "contact",
            "contacts",
            "contactid",
            "fullname",
            [*_person_columns(), *_state_columns(STATE_LABELS, STATUS_LABELS)],
            lookups={
                # The customer lookup: one attribute, two navigation properties by target table.
                # Deleting the parent deletes the contact (parental relationship; UNCONFIRMED for
                # contact_customer_contacts, documented for contact_customer_accounts).
                "parentcustomerid": Lookup(
                    "parentcustomerid",
                    {"parentcustomerid_account": "account", "parentcustomerid_contact": "contact"},
                    cascade_delete=True,
                ),
                OWNER: OWNER_LOOKUP,
            },
            collections={
                "Contact_Appointments": Collection("Contact_Appointments", "appointment", "regardingobjectid"),
                "contact_activity_parties": Collection("contact_activity_parties", "activityparty", "partyid"),
                "contact_customer_contacts": Collection("contact_customer_contacts", "contact", "parentcustomerid"),
                "account_primary_contact": Collection("account_primary_contact", "account", "primarycontactid"),
            },
            # Alternate key on email, as in the reference's examples (docs/dataverse-webapi.md#36-alternate-keys); configurable.
            keys=(("emailaddress1",),),
            states=ACTIVE_INACTIVE,
        ),
        _table(
            "account",
            "accounts",
            "accountid",
            "name",
            [
                Column("name", Kind.STRING, 160),
                Column("accountnumber", Kind.STRING, 20),
                Column("emailaddress1", Kind.STRING, 100),
                Column("telephone1", Kind.STRING, 50),
                Column("websiteurl", Kind.STRING, 200),
                Column("description", Kind.MEMO, 2000),
                *_state_columns(STATE_LABELS, STATUS_LABELS),
            ],
            lookups={"primarycontactid": Lookup("primarycontactid", {"primarycontactid": "contact"}), OWNER: OWNER_LOOKUP},
            collections={
                "contact_customer_accounts": Collection("contact_customer_accounts", "contact", "parentcustomerid"),
                "Account_Appointments": Collection("Account_Appointments", "appointment", "regardingobjectid"),
                "account_activity_parties": Collection("account_activity_parties", "activityparty", "partyid"),
            },
            states=ACTIVE_INACTIVE,
        ),
        _table(
            "appointment",
            "appointments",
            "activityid",
            "subject",
            [
                *activity_columns,
                Column("location", Kind.STRING, 200),
                Column("isalldayevent", Kind.BOOLEAN, default=False),
                Column("activitytypecode", Kind.STRING, 100, writable=False, default="appointment"),
            ],
            lookups={
                "regardingobjectid": Lookup("regardingobjectid", regarding_targets, cascade_delete=True),
                OWNER: OWNER_LOOKUP,
            },
            collections={
                "appointment_activity_parties": Collection(
                    "appointment_activity_parties", "activityparty", "activityid", deep_insert=True
                ),
            },
            states=appointment_state_model,
        ),
        _table(
            "activitypointer",
            "activitypointers",
            "activityid",
            "subject",
            [*activity_columns, Column("activitytypecode", Kind.STRING, 100, writable=False)],
            lookups={"regardingobjectid": Lookup("regardingobjectid", regarding_targets), OWNER: OWNER_LOOKUP},
            view_of="appointment",
            states=appointment_state_model,
        ),
        _table(
            "activityparty",
            "activityparties",
            "activitypartyid",
            "addressused",
            [
                Column(
                    "participationtypemask",
                    Kind.PICKLIST,
                    options={
                        1: "Sender",
                        2: "To Recipient",
                        3: "CC Recipient",
                        4: "BCC Recipient",
                        5: "Required attendee",
                        6: "Optional attendee",
                        7: "Organizer",
                        8: "Regarding",
                        9: "Owner",
                        10: "Resource",
                        11: "Customer",
                        12: "Chat Participant",
                        13: "Related",
                    },
                    required=True,
                ),
                Column("addressused", Kind.STRING, 320),
            ],
            lookups={
                "activityid": Lookup(
                    "activityid", {"activityid_appointment": "appointment"}, required=True, cascade_delete=True
                ),
                "partyid": Lookup(
                    "partyid",
                    {
                        "partyid_lead": "lead",
                        "partyid_contact": "contact",
                        "partyid_account": "account",
                        "partyid_systemuser": "systemuser",
                    },
                ),
            },
        ),
        _table(
            "bookableresource",
            "bookableresources",
            "bookableresourceid",
            "name",
            [
                Column("name", Kind.STRING, 100),
                Column(
                    "resourcetype",
                    Kind.PICKLIST,
                    options={
                        1: "Generic",
                        2: "Contact",
                        3: "User",
                        4: "Equipment",
                        5: "Account",
                        6: "Crew",
                        7: "Facility",
                        8: "Pool",
                    },
                    required=True,
                ),
                Column("timezone", Kind.INTEGER, required=True),
                *_state_columns(STATE_LABELS, STATUS_LABELS),
            ],
            lookups={
                "userid": Lookup("userid", {"UserId": "systemuser"}),
                "contactid": Lookup("contactid", {"ContactId": "contact"}),
            },
            states=ACTIVE_INACTIVE,
        ),
        _table(
            "bookingstatus",
            "bookingstatuses",
            "bookingstatusid",
            "name",
            [
                Column("name", Kind.STRING, 100),
                Column("status", Kind.PICKLIST, options={1: "Proposed", 2: "Committed", 3: "Canceled"}, required=True),
                *_state_columns(STATE_LABELS, STATUS_LABELS),
            ],
            states=ACTIVE_INACTIVE,
        ),
        _table(
            "msdyn_shiftactivitytype",
            "msdyn_shiftactivitytypes",
            "msdyn_shiftactivitytypeid",
            "msdyn_name",
            [
                Column("msdyn_name", Kind.STRING, 100),
                Column(
                    "msdyn_shiftassignmentstatus",
                    Kind.PICKLIST,
                    options={192350000: "Available", 192350001: "Not available"},
                ),
                *_state_columns(STATE_LABELS, STATUS_LABELS),
            ],
            states=ACTIVE_INACTIVE,
        ),
        _table(
            "msdyn_shiftplan",
            "msdyn_shiftplans",
            "msdyn_shiftplanid",
            "msdyn_name",
            [Column("msdyn_name", Kind.STRING, 100), *_state_columns(STATE_LABELS, STATUS_LABELS)],
            states=ACTIVE_INACTIVE,
        ),
        _table(
            "msdyn_bookingsetupmetadata",
            "msdyn_bookingsetupmetadatas",
            "msdyn_bookingsetupmetadataid",
            "msdyn_entitylogicalname",
            [Column("msdyn_entitylogicalname", Kind.STRING, 100), *_state_columns(STATE_LABELS, STATUS_LABELS)],
            states=ACTIVE_INACTIVE,
        ),
        _table(
            "bookableresourcebookingheader",
            "bookableresourcebookingheaders",
            "bookableresourcebookingheaderid",
            "name",
            [Column("name", Kind.STRING, 100)],
        ),
        _table(
            "msdyn_resourcerequirement",
            "msdyn_resourcerequirements",
            "msdyn_resourcerequirementid",
            "msdyn_name",
            [Column("msdyn_name", Kind.STRING, 100)],
        ),
        _table(
            "bookableresourcebooking",
            "bookableresourcebookings",
            "bookableresourcebookingid",
            "name",
            [
                Column("name", Kind.STRING, 100),
                Column("starttime", Kind.DATETIME, required=True),
                Column("endtime", Kind.DATETIME, required=True),
                Column("duration", Kind.INTEGER, required=True),
                Column("bookingtype", Kind.PICKLIST, options={1: "Solid", 2: "Liquid"}, default=1),
                Column(
                    "msdyn_bookingmethod",
                    Kind.PICKLIST,
                    options={
                        192350000: "Optimization",
                        690970001: "Schedule Board",
                        690970002: "Mobile",
                        690970003: "Manual",
                        690970004: "Schedule Assistant",
                        690970005: "System-Agreement Schedule",
                    },
                    default=690970003,
                ),
                Column(
                    "msdyn_worklocation",
                    Kind.PICKLIST,
                    options={690970000: "Onsite", 690970001: "Facility", 690970002: "Location Agnostic"},
                ),
                *_state_columns(STATE_LABELS, STATUS_LABELS),
            ],
            lookups={
                "resource": Lookup("resource", {"Resource": "bookableresource"}, required=True),
                "bookingstatus": Lookup("bookingstatus", {"BookingStatus": "bookingstatus"}),
                # Lower-case navigation names are (community) per docs/dataverse-webapi.md#25-bookableresourcebooking; UNCONFIRMED officially.
                "msdyn_shiftactivitytype": Lookup(
                    "msdyn_shiftactivitytype", {"msdyn_shiftactivitytype": "msdyn_shiftactivitytype"}
                ),
                "msdyn_shiftplan": Lookup("msdyn_shiftplan", {"msdyn_shiftplan": "msdyn_shiftplan"}),
                "msdyn_bookingsetupmetadataid": Lookup(
                    "msdyn_bookingsetupmetadataid", {"msdyn_BookingSetupMetadataId": "msdyn_bookingsetupmetadata"}
                ),
                "header": Lookup("header", {"Header": "bookableresourcebookingheader"}),
                "msdyn_resourcerequirement": Lookup(
                    "msdyn_resourcerequirement", {"msdyn_ResourceRequirement": "msdyn_resourcerequirement"}
                ),
                "msdyn_resourcegroup": Lookup("msdyn_resourcegroup", {"msdyn_resourcegroup": "bookableresource"}),
                "msdyn_appointmentbookingid": Lookup(
                    "msdyn_appointmentbookingid", {"msdyn_AppointmentBookingId": "appointment"}
                ),
            },
            states=ACTIVE_INACTIVE,
        ),
    ]


def custom_column(name: str, spec: str | Mapping[str, object]) -> Column:
    """A column from `custom_columns`: "string" or {"type": "string", "max_length": 200}."""
    type_name = spec if isinstance(spec, str) else str(spec.get("type", "string"))
    kind = CUSTOM_KINDS.get(type_name.lower())
    if kind is None:
        raise ValueError(f"unknown custom column type {type_name!r} for {name!r}; use one of {sorted(CUSTOM_KINDS)}")
    max_length = CUSTOM_DEFAULT_LENGTH.get(kind)
    if isinstance(spec, Mapping) and spec.get("max_length") is not None:
        max_length = int(spec["max_length"])  # type: ignore[arg-type]
    return Column(name, kind, max_length)

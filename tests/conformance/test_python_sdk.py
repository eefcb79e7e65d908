"""Microsoft's Dataverse SDK for Python (`powerplatform-dataverse-client`, unpatched) against
the emulator over https. The SDK resolves every table through `EntityDefinitions` and every
string value of a create through the table's picklist metadata, so metadata is exercised by
every scenario. Expected results are those of Microsoft Learn's Web API pages (each scenario
names its page).

The SDK is configured, not patched: a credential object that hands out a fixed token (the
emulator does not check tokens yet) and `REQUESTS_CA_BUNDLE` naming the emulator's CA.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PEOPLE = [
    ("Ada", "Lovelace", "ada@example.com"),
    ("Grace", "Hopper", "grace@example.com"),
    ("Alan", "Turing", None),
    ("Edsger", "Dijkstra", "edsger@example.com"),
    ("Barbara", "Liskov", "barbara@example.com"),
]


class FixedTokenCredential:
    """An azure-core `TokenCredential`: always the same token, valid for an hour."""

    def get_token(self, *scopes: str, **kwargs: object):
        import time

        from azure.core.credentials import AccessToken

        return AccessToken("conformance-token", int(time.time()) + 3600)


@pytest.fixture
def sdk(served) -> Iterator[object]:
    from PowerPlatform.Dataverse.client import DataverseClient

    with DataverseClient(served.url, FixedTokenCredential()) as client:
        yield client


def _http_error(call, status: int, code: str | None = None):
    from PowerPlatform.Dataverse.core.errors import HttpError

    with pytest.raises(HttpError) as caught:
        call()
    error = caught.value
    assert error.status_code == status, (error.status_code, error.message)
    if code is not None:
        assert error.details.get("service_error_code") == code, error.details
    assert error.message and not error.message.startswith("HTTP "), "the error body's message reaches the caller"
    return error


def _seed_people(sdk) -> dict[str, str]:
    ids = sdk.records.create(
        "contact",
        [{"firstname": first, "lastname": last, "emailaddress1": email} for first, last, email in PEOPLE],
    )
    return {first: id_ for (first, _, _), id_ in zip(PEOPLE, ids, strict=True)}


def _appointment(extra: dict[str, object]) -> dict[str, object]:
    """An appointment's columns for a half-hour slot, plus binds or parties."""
    return {"subject": "Advice", "scheduledstart": "2026-03-02T09:00:00Z", "scheduledend": "2026-03-02T09:30:00Z", **extra}


def _first_names(records) -> list[str]:
    return [record["firstname"] for record in records]


# Query table definitions using the Web API:
# https://learn.microsoft.com/en-us/power-apps/developer/data-platform/webapi/query-metadata-web-api
def test_tables_get_reads_the_table_definition(sdk) -> None:
    info = sdk.tables.get("contact")
    assert info is not None
    assert info.logical_name == "contact"
    assert info.entity_set_name == "contacts"
    assert info.primary_id_attribute == "contactid"
    assert info.primary_name_attribute == "fullname"
    assert GUID.match(info.metadata_id)
    assert sdk.tables.get("nosuchtable") is None


def test_columns_of_a_table(sdk) -> None:
    columns = sdk.tables.list_columns(
        "contact", select=["LogicalName", "AttributeType"], filter="AttributeType eq 'String'"
    )
    names = {c["LogicalName"] for c in columns}
    assert {"firstname", "lastname", "emailaddress1"} <= names
    assert {c["AttributeType"] for c in columns} == {"String"}
    column = sdk.tables.get_column("contact", "statecode")
    assert column is not None and column["AttributeType"] == "State"
    assert sdk.tables.get_column("contact", "nosuchcolumn") is None


def test_alternate_keys_of_a_table(sdk) -> None:
    keys = sdk.tables.get_alternate_keys("contact")
    assert [list(key.key_attributes) for key in keys] == [["emailaddress1"]]


# Create, retrieve, update and delete table rows:
# https://learn.microsoft.com/en-us/power-apps/developer/data-platform/webapi/create-entity-web-api
def test_create_get_update_delete(sdk, served) -> None:
    contact_id = sdk.records.create("contact", {"firstname": "Ada", "lastname": "Lovelace"})
    assert GUID.match(contact_id)

    record = sdk.records.retrieve("contact", contact_id, select=["firstname", "fullname", "emailaddress1"])
    assert record.id == contact_id
    assert record["firstname"] == "Ada"
    assert record["fullname"] == "Ada Lovelace"
    assert record["emailaddress1"] is None
    assert "lastname" not in record.data, "$select limits the columns"
    assert record.etag and re.fullmatch(r'W/"\d+"', record.etag)

    sdk.records.update("contact", contact_id, {"emailaddress1": "ada@example.com"})
    updated = sdk.records.retrieve("contact", contact_id, select=["emailaddress1"])
    assert updated["emailaddress1"] == "ada@example.com"
    assert updated.etag != record.etag

    sdk.records.delete("contact", contact_id)
    assert served.row("contacts", contact_id) is None
    assert sdk.records.retrieve("contact", contact_id) is None, "retrieve answers None on 404"
    _http_error(lambda: sdk.records.delete("contact", contact_id), 404, "0x80040217")


def test_picklist_labels_are_sent_as_their_values(sdk, served) -> None:
    resource_id = sdk.records.create(
        "bookableresource", {"name": "Agent desk", "resourcetype": "Generic", "timezone": 85}
    )
    assert served.row("bookableresources", resource_id)["resourcetype"] == 1


# Upsert a table row using an alternate key:
# https://learn.microsoft.com/en-us/power-apps/developer/data-platform/webapi/update-delete-entities-using-web-api#upsert-a-table-row
def test_upsert_by_alternate_key_creates_then_updates(sdk, served) -> None:
    from PowerPlatform.Dataverse.models.upsert import UpsertItem

    key = {"emailaddress1": "ada@example.com"}
    sdk.records.upsert("contact", [UpsertItem(alternate_key=key, record={"firstname": "Ada"})])
    sdk.records.upsert("contact", [UpsertItem(alternate_key=key, record={"lastname": "Lovelace"})])
    rows = served.rows("contacts")
    assert [(r["firstname"], r["lastname"], r["emailaddress1"]) for r in rows] == [("Ada", "Lovelace", "ada@example.com")]

    # Several items go through UpsertMultiple with @odata.id naming each alternate key.
    sdk.records.upsert(
        "contact",
        [
            UpsertItem(alternate_key=key, record={"telephone1": "555-0100"}),
            UpsertItem(alternate_key={"emailaddress1": "grace@example.com"}, record={"firstname": "Grace"}),
        ],
    )
    rows = sorted(served.rows("contacts"), key=lambda r: r["emailaddress1"])
    assert [(r["emailaddress1"], r["firstname"], r["telephone1"]) for r in rows] == [
        ("ada@example.com", "Ada", "555-0100"),
        ("grace@example.com", "Grace", None),
    ]


# Use bulk operation messages (CreateMultiple, UpdateMultiple):
# https://learn.microsoft.com/en-us/power-apps/developer/data-platform/bulk-operations
def test_lists_go_through_create_multiple_and_update_multiple(sdk, served) -> None:
    ids = sdk.records.create("contact", [{"firstname": "Ada"}, {"firstname": "Grace"}, {"firstname": "Alan"}])
    assert len(ids) == 3 and len(set(ids)) == 3 and all(GUID.match(i) for i in ids)
    assert served.count(method="POST", path="CreateMultiple") == 1

    sdk.records.update("contact", ids, {"telephone1": "555-0100"})
    assert served.count(method="POST", path="UpdateMultiple") == 1
    assert sorted(r["telephone1"] for r in served.rows("contacts")) == ["555-0100"] * 3


# Associate table rows on create (@odata.bind) and lookup annotations:
# https://learn.microsoft.com/en-us/power-apps/developer/data-platform/webapi/create-entity-web-api#associate-table-rows-on-create
def test_lookup_bind_reads_back_with_annotations(sdk) -> None:
    account_id = sdk.records.create("account", {"name": "Contoso"})
    contact_id = sdk.records.create(
        "contact",
        {"firstname": "Ada", "lastname": "Lovelace", "parentcustomerid_account@odata.bind": f"/accounts({account_id})"},
    )
    appointment_id = sdk.records.create(
        "appointment",
        _appointment({
            "regardingobjectid_contact_appointment@odata.bind": f"/contacts({contact_id})",
        }),
    )
    row = sdk.records.retrieve(
        "appointment", appointment_id, select=["subject", "_regardingobjectid_value"], include_annotations="*"
    )
    assert row["_regardingobjectid_value"] == contact_id
    assert row["_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] == "contact"
    assert row["_regardingobjectid_value@OData.Community.Display.V1.FormattedValue"] == "Ada Lovelace"

    contact = sdk.records.retrieve("contact", contact_id, select=["_parentcustomerid_value"])
    assert contact["_parentcustomerid_value"] == account_id


# Activity parties in a deep insert; $expand of a collection-valued navigation property:
# https://learn.microsoft.com/en-us/power-apps/developer/data-platform/activityparty-entity
def test_appointment_with_activity_parties(sdk) -> None:
    contact_id = sdk.records.create("contact", {"firstname": "Ada", "lastname": "Lovelace"})
    user_id = sdk.records.create("systemuser", {"firstname": "Agent", "lastname": "Smith"})
    appointment_id = sdk.records.create(
        "appointment",
        _appointment({
            "appointment_activity_parties": [
                {"partyid_contact@odata.bind": f"/contacts({contact_id})", "participationtypemask": 5},
                {"partyid_systemuser@odata.bind": f"/systemusers({user_id})", "participationtypemask": 7},
            ],
        }),
    )
    row = sdk.records.retrieve(
        "appointment",
        appointment_id,
        select=["subject"],
        expand=["appointment_activity_parties($select=participationtypemask,_partyid_value)"],
    )
    parties = sorted((p["participationtypemask"], p["_partyid_value"]) for p in row["appointment_activity_parties"])
    assert parties == [(5, contact_id), (7, user_id)]


# Query data: $filter, $orderby, $top, odata.maxpagesize paging:
# https://learn.microsoft.com/en-us/power-apps/developer/data-platform/webapi/query/overview
def test_filter_order_top_and_paging(sdk, served) -> None:
    _seed_people(sdk)
    assert _first_names(sdk.records.list("contact", select=["firstname"], filter="startswith(firstname,'A')", orderby=["firstname"])) == [
        "Ada",
        "Alan",
    ]
    assert _first_names(sdk.records.list("contact", select=["firstname"], filter="emailaddress1 eq null")) == ["Alan"]
    assert _first_names(
        sdk.records.list("contact", select=["firstname"], orderby=["lastname desc"], top=2)
    ) == ["Alan", "Ada"]

    served.clear_log()
    pages = list(sdk.records.list_pages("contact", select=["firstname"], orderby=["firstname"], page_size=2))
    assert [_first_names(page) for page in pages] == [["Ada", "Alan"], ["Barbara", "Edsger"], ["Grace"]]
    assert served.count(method="GET", path="contacts") == 3, "each page is one request, following @odata.nextLink"


def test_query_builder_with_count_and_formatted_values(sdk) -> None:
    from PowerPlatform.Dataverse.models.filters import col

    _seed_people(sdk)
    result = (
        sdk.query.builder("contact")
        .select("firstname", "statecode")
        .where(col("lastname") == "Hopper")
        .include_formatted_values()
        .execute()
    )
    (row,) = list(result)
    assert row["firstname"] == "Grace"
    assert row["statecode@OData.Community.Display.V1.FormattedValue"] == "Active"


# Use FetchXml to query data (filter, order, link-entity, paging cookie):
# https://learn.microsoft.com/en-us/power-apps/developer/data-platform/fetchxml/overview
def test_fetchxml_filter_order_and_link_entity(sdk) -> None:
    ids = _seed_people(sdk)
    sdk.records.create(
        "appointment",
        _appointment({
            "regardingobjectid_contact_appointment@odata.bind": f"/contacts({ids['Grace']})",
        }),
    )
    filtered = sdk.query.fetchxml(
        """<fetch><entity name="contact"><attribute name="lastname"/>
             <filter type="and"><condition attribute="emailaddress1" operator="not-null"/>
               <condition attribute="lastname" operator="in"><value>Hopper</value><value>Liskov</value></condition>
             </filter><order attribute="lastname" descending="true"/></entity></fetch>"""
    ).execute()
    assert [r["lastname"] for r in filtered] == ["Liskov", "Hopper"]

    linked = sdk.query.fetchxml(
        """<fetch><entity name="appointment"><attribute name="subject"/>
             <link-entity name="contact" from="contactid" to="regardingobjectid" link-type="inner" alias="who">
               <attribute name="firstname"/></link-entity></entity></fetch>"""
    ).execute()
    assert [(r["subject"], r["who.firstname"]) for r in linked] == [("Advice", "Grace")]


def test_fetchxml_pages_with_the_paging_cookie(sdk, served) -> None:
    _seed_people(sdk)
    served.clear_log()
    pages = list(
        sdk.query.fetchxml(
            """<fetch count="2"><entity name="contact"><attribute name="firstname"/>
                 <order attribute="firstname"/></entity></fetch>"""
        ).execute_pages()
    )
    assert [_first_names(page) for page in pages] == [["Ada", "Alan"], ["Barbara", "Edsger"], ["Grace"]]
    assert served.count(method="GET", path="contacts") == 3


# Execute batch operations: change sets, Content-ID references:
# https://learn.microsoft.com/en-us/power-apps/developer/data-platform/webapi/execute-batch-operations-using-web-api
def test_batch_changeset_with_content_id_references(sdk, served) -> None:
    batch = sdk.batch.new()
    with batch.changeset() as changeset:
        contact_ref = changeset.records.create("contact", {"firstname": "Ada", "lastname": "Lovelace"})
        changeset.records.create(
            "appointment",
            _appointment({
                "regardingobjectid_contact_appointment@odata.bind": contact_ref,
            }),
        )
        changeset.records.update("contact", contact_ref, {"telephone1": "555-0100"})
    served.clear_log()
    result = batch.execute()
    assert served.count(method="POST", path="$batch") == 1
    assert not result.has_errors, [(r.status_code, r.error_message) for r in result.failed]
    assert [r.status_code for r in result.responses] == [204, 204, 204]
    contact_id, appointment_id, updated_id = (r.entity_id for r in result.responses)
    assert updated_id == contact_id, "the update through $1 answers the created contact's OData-EntityId"
    assert served.row("contacts", contact_id)["telephone1"] == "555-0100"
    assert served.row("appointments", appointment_id)["_regardingobjectid_value"] == contact_id


def test_batch_changeset_is_all_or_nothing(sdk, served) -> None:
    batch = sdk.batch.new()
    with batch.changeset() as changeset:
        changeset.records.create("contact", {"firstname": "Ada"})
        changeset.records.create("contact", {"firstname": "Grace", "nosuchcolumn": "x"})
    result = batch.execute()
    assert result.has_errors
    assert [r.status_code for r in result.failed] == [400]
    assert "nosuchcolumn" in (result.failed[0].error_message or "")
    assert served.rows("contacts") == []


# Parse errors from the Web API; service protection API limits:
# https://learn.microsoft.com/en-us/power-apps/developer/data-platform/webapi/compose-http-requests-handle-errors#parse-errors-from-the-response
# https://learn.microsoft.com/en-us/power-apps/developer/data-platform/api-limits
def test_error_answers_reach_the_caller(sdk) -> None:
    error = _http_error(lambda: sdk.records.create("contact", {"nosuchcolumn": "x"}), 400)
    assert "nosuchcolumn" in error.message
    _http_error(lambda: list(sdk.records.list("contact", filter="firstname eq")), 400)
    missing = "00000000-0000-0000-0000-0000000000aa"
    _http_error(lambda: sdk.records.update("contact", missing, {"firstname": "x"}), 404, "0x80040217")


def test_sql_query_option_is_answered_or_refused_never_ignored(sdk) -> None:
    # The SDK sends `GET contacts?sql=...`; an emulator that ignored the option would answer
    # every row of the table.
    from PowerPlatform.Dataverse.core.errors import HttpError

    _seed_people(sdk)
    try:
        rows = sdk.query.sql("SELECT firstname FROM contact WHERE lastname = 'Hopper'")
    except HttpError as error:
        assert error.status_code == 400, (error.status_code, error.message)
        assert "sql" in error.message.lower()
    else:
        assert [row["firstname"] for row in rows] == ["Grace"]


def test_throttling_answers_429_with_retry_after(sdk, served) -> None:
    sdk.tables.get("contact")  # metadata cached, so the throttled request is the query itself
    served.faults.throttle(1, retry_after=3)
    error = _http_error(lambda: list(sdk.records.list("contact")), 429)
    assert error.details.get("service_error_code") in {"0x80072322", "0x80072321", "0x80072326"}
    assert error.details.get("retry_after") == 3
    assert error.is_transient
    assert list(sdk.records.list("contact")) == []

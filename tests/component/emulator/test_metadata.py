"""EntityDefinitions generated from the emulator's catalogue (docs/emulator.md#metadata).

The first tests replay what Microsoft's Python SDK and DynamicsWebApi ask; the drift tests
then check every definition against what the emulator's Web API actually enforces.
"""

from __future__ import annotations

import pytest

from tests.component.emulator.web_api import created_id, error_of

PICKLIST = "Microsoft.Dynamics.CRM.PicklistAttributeMetadata"


def _value(api, path, **params):
    response = api.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()["value"]


def test_sdk_resolves_a_table_by_logical_name(api):
    rows = _value(api, "EntityDefinitions", **{"$select": "LogicalName,EntitySetName,PrimaryIdAttribute", "$filter": "LogicalName eq 'contact'"})
    assert len(rows) == 1
    row = rows[0]
    assert (row["LogicalName"], row["EntitySetName"], row["PrimaryIdAttribute"]) == ("contact", "contacts", "contactid")
    assert set(row) == {"LogicalName", "EntitySetName", "PrimaryIdAttribute", "MetadataId"}


def test_unknown_table_filter_answers_an_empty_list(api):
    assert _value(api, "EntityDefinitions", **{"$filter": "LogicalName eq 'nosuch'"}) == []


def test_list_filter_with_private_flag_and_parentheses(api):
    rows = _value(api, "EntityDefinitions", **{"$filter": "IsPrivate eq false and (LogicalName eq 'lead' or LogicalName eq 'account')", "$select": "LogicalName,ObjectTypeCode"})
    assert sorted((r["LogicalName"], r["ObjectTypeCode"]) for r in rows) == [("account", 1), ("lead", 4)]


def test_single_definition_by_logical_name_and_by_metadata_id(api):
    by_name = api.get("EntityDefinitions(LogicalName='account')").json()
    assert by_name["@odata.context"].endswith("$metadata#EntityDefinitions/$entity")
    for field, expected in {"EntitySetName": "accounts", "LogicalCollectionName": "accounts", "PrimaryIdAttribute": "accountid",
                            "PrimaryNameAttribute": "name", "ObjectTypeCode": 1, "SchemaName": "Account"}.items():
        assert by_name[field] == expected, field
    by_id = api.get(f"EntityDefinitions({by_name['MetadataId']})", params={"$select": "LogicalName"}).json()
    assert by_id["LogicalName"] == "account" and "EntitySetName" not in by_id


def test_missing_and_malformed_keys(api):
    assert api.get("EntityDefinitions(LogicalName='nosuch')").status_code == 404
    assert api.get("EntityDefinitions(00000000-0000-0000-0000-000000000001)").status_code == 404
    assert api.get("EntityDefinitions(Name='contact')").status_code == 400


def test_attributes_with_select_and_filter(api):
    rows = _value(api, "EntityDefinitions(LogicalName='contact')/Attributes",
                  **{"$select": "LogicalName,AttributeType,RequiredLevel", "$filter": "AttributeType eq 'String'"})
    names = {r["LogicalName"] for r in rows}
    assert {"firstname", "lastname", "emailaddress1"} <= names and "contactid" not in names
    assert all(r["AttributeType"] == "String" and r["@odata.type"] == "#Microsoft.Dynamics.CRM.StringAttributeMetadata" for r in rows)


def test_cast_property_needs_the_cast(api):
    response = api.get("EntityDefinitions(LogicalName='contact')/Attributes", params={"$select": "LogicalName,MaxLength"})
    assert response.status_code == 400
    assert "MaxLength" in error_of(response)["message"]
    rows = _value(api, "EntityDefinitions(LogicalName='contact')/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata",
                  **{"$select": "LogicalName,MaxLength", "$filter": "LogicalName eq 'firstname'"})
    assert rows == [{"@odata.type": "#Microsoft.Dynamics.CRM.StringAttributeMetadata", "LogicalName": "firstname", "MaxLength": 50,
                     "MetadataId": rows[0]["MetadataId"]}]


def test_sdk_picklist_cast_with_option_set_labels(api):
    rows = _value(api, f"EntityDefinitions(LogicalName='bookableresourcebooking')/Attributes/{PICKLIST}",
                  **{"$select": "LogicalName", "$expand": "OptionSet($select=Options)"})
    by_name = {r["LogicalName"]: r for r in rows}
    assert set(by_name) == {"bookingtype", "msdyn_bookingmethod", "msdyn_worklocation"}
    options = by_name["bookingtype"]["OptionSet"]["Options"]
    labels = {o["Value"]: o["Label"]["LocalizedLabels"][0]["Label"] for o in options}
    assert labels == {1: "Solid", 2: "Liquid"}


def test_single_attribute_with_option_set_and_global_option_set(api):
    row = api.get(f"EntityDefinitions(LogicalName='activityparty')/Attributes(LogicalName='participationtypemask')/{PICKLIST}",
                  params={"$select": "LogicalName", "$expand": "OptionSet,GlobalOptionSet"}).json()
    assert row["OptionSet"]["IsGlobal"] is False and row["GlobalOptionSet"] is None
    assert {o["Value"] for o in row["OptionSet"]["Options"]} == set(range(1, 14))


def test_status_options_name_their_state(api):
    rows = _value(api, "EntityDefinitions(LogicalName='appointment')/Attributes/Microsoft.Dynamics.CRM.StatusAttributeMetadata",
                  **{"$expand": "OptionSet"})
    states = {o["Value"]: o["State"] for o in rows[0]["OptionSet"]["Options"]}
    assert states == {1: 0, 2: 0, 3: 1, 4: 2, 5: 3, 6: 3}


def test_option_set_expand_needs_a_cast(api):
    response = api.get("EntityDefinitions(LogicalName='contact')/Attributes", params={"$expand": "OptionSet"})
    assert response.status_code == 400


def test_keys_and_relationships(api):
    keys = _value(api, "EntityDefinitions(LogicalName='contact')/Keys")
    assert [k["KeyAttributes"] for k in keys] == [["emailaddress1"]]
    many_to_one = _value(api, "EntityDefinitions(LogicalName='contact')/ManyToOneRelationships",
                         **{"$select": "ReferencedEntity,ReferencingAttribute,ReferencingEntityNavigationPropertyName"})
    assert {(r["ReferencedEntity"], r["ReferencingEntityNavigationPropertyName"]) for r in many_to_one} == {
        ("account", "parentcustomerid_account"), ("contact", "parentcustomerid_contact"), ("systemuser", "ownerid")}
    one_to_many = _value(api, "EntityDefinitions(LogicalName='account')/OneToManyRelationships",
                         **{"$filter": "ReferencingEntity eq 'contact'"})
    assert [(r["SchemaName"], r["ReferencedEntityNavigationPropertyName"], r["CascadeConfiguration"]["Delete"]) for r in one_to_many] == [
        ("contact_customer_accounts", "contact_customer_accounts", "Cascade")]
    assert _value(api, "EntityDefinitions(LogicalName='account')/ManyToManyRelationships") == []


def test_expand_attributes_on_a_single_definition(api):
    row = api.get("EntityDefinitions(LogicalName='lead')", params={"$select": "LogicalName", "$expand": "Attributes($select=LogicalName),Keys"}).json()
    assert "subject" in {a["LogicalName"] for a in row["Attributes"]} and row["Keys"] == []


@pytest.mark.parametrize("method", ["POST", "PATCH", "DELETE"])
def test_definitions_are_read_only(api, method):
    response = api.request(method, "EntityDefinitions(LogicalName='contact')", json={} if method != "DELETE" else None)
    assert response.status_code == 405
    error_of(response)


@pytest.mark.parametrize("option", ["$top", "$orderby", "$count", "$skip"])
def test_unsupported_query_options_are_refused(api, option):
    response = api.get("EntityDefinitions", params={option: "1"})
    assert response.status_code == 400
    assert option in error_of(response)["message"]


# -- drift: the definitions say what the Web API enforces

def _tables(api):
    return _value(api, "EntityDefinitions", **{"$select": "LogicalName,EntitySetName,PrimaryIdAttribute"})


def test_every_attribute_is_selectable_on_its_entity_set(api):
    for table in _tables(api):
        attributes = _value(api, f"EntityDefinitions(LogicalName='{table['LogicalName']}')/Attributes", **{"$select": "LogicalName,AttributeType"})
        names = [a["LogicalName"] if a["AttributeType"] not in ("Lookup", "Customer", "Owner") else f"_{a['LogicalName']}_value" for a in attributes]
        response = api.get(table["EntitySetName"], params={"$select": ",".join(names), "$top": "1"})
        assert response.status_code == 200, (table, response.text)


def test_every_string_max_length_is_enforced(api):
    for table in _tables(api):
        strings = _value(api, f"EntityDefinitions(LogicalName='{table['LogicalName']}')/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata",
                         **{"$select": "LogicalName,MaxLength", "$filter": "IsValidForCreate eq true"})
        for column in strings:
            response = api.post(table["EntitySetName"], json={column["LogicalName"]: "x" * (column["MaxLength"] + 1)})
            assert response.status_code == 400, (table["LogicalName"], column)


def test_every_navigation_property_binds_and_every_collection_is_served(api, dataverse):
    for table in _tables(api):
        for relationship in _value(api, f"EntityDefinitions(LogicalName='{table['LogicalName']}')/OneToManyRelationships"):
            collection = relationship["ReferencedEntityNavigationPropertyName"]
            if collection is not None:  # $expand refuses a name the table does not serve
                response = api.get(table["EntitySetName"], params={"$expand": collection, "$top": "1"})
                assert response.status_code == 200, (collection, response.text)
    # A bind by every advertised navigation property name is understood (a wrong name is 400 "undeclared").
    contact = created_id(api.post("contacts", json={"lastname": "T"}))
    for relationship in _value(api, "EntityDefinitions(LogicalName='contact')/ManyToOneRelationships"):
        navigation = relationship["ReferencingEntityNavigationPropertyName"]
        target_set, row = {"account": ("accounts", {"name": "A"}), "contact": ("contacts", {"lastname": "P"}),
                           "systemuser": ("systemusers", {"fullname": "U"})}[relationship["ReferencedEntity"]]
        target = dataverse.insert(target_set, row)
        response = api.patch(f"contacts({contact})", json={f"{navigation}@odata.bind": f"/{target_set}({target})"})
        assert response.status_code == 204, (navigation, response.text)


def test_every_option_is_accepted_and_others_refused(api, dataverse):
    rows = _value(api, f"EntityDefinitions(LogicalName='bookableresourcebooking')/Attributes/{PICKLIST}",
                  **{"$select": "LogicalName", "$expand": "OptionSet($select=Options)"})
    resource = dataverse.insert("bookableresources", {"name": "R", "resourcetype": 3, "timezone": 85})
    base = {"starttime": "2026-01-01T09:00:00Z", "endtime": "2026-01-01T10:00:00Z", "duration": 60,
            "Resource@odata.bind": f"/bookableresources({resource})"}
    for row in rows:
        values = [o["Value"] for o in row["OptionSet"]["Options"]]
        for value in values:
            assert api.post("bookableresourcebookings", json={**base, row["LogicalName"]: value}).status_code == 204
        assert api.post("bookableresourcebookings", json={**base, row["LogicalName"]: max(values) + 1}).status_code == 400

"""Table, column, key and relationship definitions GENERATED from the emulator's catalogue.

What `EntityDefinitions` answers is derived from the same `Table` objects the writes and queries
enforce, so the metadata cannot claim a column, length, option or navigation property that the
emulator does not apply (docs/emulator.md#metadata).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from emulators.dataverse.model.catalog import Catalog
from emulators.dataverse.model.schema import Column, Kind, Lookup, Table

_NAMESPACE = uuid.UUID("0b7c8d8e-7a55-4e43-9d0e-3c51a4c0f6a2")
LANGUAGE = 1033
CRM = "Microsoft.Dynamics.CRM."

# Object type codes of the standard tables (Microsoft Learn table reference pages); tables
# without a known code get a stable one from 10000 up, like custom tables.
OBJECT_TYPE_CODES = {
    "account": 1,
    "contact": 2,
    "lead": 4,
    "systemuser": 8,
    "activityparty": 135,
    "activitypointer": 4200,
    "appointment": 4201,
    "bookableresource": 1150,
    "bookableresourcebooking": 1145,
    "bookableresourcebookingheader": 1146,
    "bookingstatus": 1154,
}
ACTIVITY_TABLES = {"appointment", "activitypointer"}

ATTRIBUTE_TYPES: Mapping[Kind, tuple[str, str]] = {  # kind -> (AttributeType, metadata type name)
    Kind.STRING: ("String", "StringAttributeMetadata"),
    Kind.MEMO: ("Memo", "MemoAttributeMetadata"),
    Kind.INTEGER: ("Integer", "IntegerAttributeMetadata"),
    Kind.BIGINT: ("BigInt", "BigIntAttributeMetadata"),
    Kind.DECIMAL: ("Decimal", "DecimalAttributeMetadata"),
    Kind.BOOLEAN: ("Boolean", "BooleanAttributeMetadata"),
    Kind.DATETIME: ("DateTime", "DateTimeAttributeMetadata"),
    Kind.DATEONLY: ("DateTime", "DateTimeAttributeMetadata"),
    Kind.PICKLIST: ("Picklist", "PicklistAttributeMetadata"),
    Kind.STATE: ("State", "StateAttributeMetadata"),
    Kind.STATUS: ("Status", "StatusAttributeMetadata"),
    Kind.GUID: ("Uniqueidentifier", "UniqueIdentifierAttributeMetadata"),
}
OPTION_SET_TYPES = {Kind.PICKLIST: "Picklist", Kind.STATE: "State", Kind.STATUS: "Status"}


def metadata_id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def label(text: str) -> dict[str, object]:
    localized = {"Label": text, "LanguageCode": LANGUAGE}
    return {"LocalizedLabels": [localized], "UserLocalizedLabel": dict(localized)}


def schema_name(logical: str) -> str:
    """Dataverse capitalises standard names (`Contact`); prefixed names keep their prefix (`msdyn_name`)."""
    return logical if "_" in logical else logical[:1].upper() + logical[1:]


@dataclass(frozen=True)
class TableDefinitions:
    entity: dict[str, object]
    attributes: list[dict[str, object]]
    keys: list[dict[str, object]]
    many_to_one: list[dict[str, object]]
    one_to_many: list[dict[str, object]]


class Definitions:
    """Every table's definitions, built once per catalogue (the catalogue never changes)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        codes = dict(OBJECT_TYPE_CODES)
        next_code = 10000
        for logical in sorted(catalog.by_logical):
            if logical not in codes:
                codes[logical] = next_code
                next_code += 1
        relationships = {t.logical_name: _many_to_one(catalog, t) for t in catalog.by_logical.values()}
        self.tables: dict[str, TableDefinitions] = {}
        for table in catalog.by_logical.values():
            referencing = [r for rels in relationships.values() for r in rels if r["ReferencedEntity"] == table.logical_name]
            self.tables[table.logical_name] = TableDefinitions(
                entity=_entity(table, codes[table.logical_name]),
                attributes=_attributes(table),
                keys=_keys(table),
                many_to_one=relationships[table.logical_name],
                one_to_many=referencing,
            )
        self.by_id = {str(d.entity["MetadataId"]): name for name, d in self.tables.items()}


def _entity(table: Table, code: int) -> dict[str, object]:
    logical = table.logical_name
    return {
        "MetadataId": metadata_id("entity", logical),
        "LogicalName": logical,
        "SchemaName": schema_name(logical),
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": table.entity_set,
        "CollectionSchemaName": schema_name(table.entity_set),
        "PrimaryIdAttribute": table.primary_key,
        "PrimaryNameAttribute": table.primary_name,
        "ObjectTypeCode": code,
        "IsActivity": logical in ACTIVITY_TABLES,
        "IsCustomEntity": logical.startswith("msdyn_"),
        "IsPrivate": False,
        "IsValidForAdvancedFind": True,
        "DisplayName": label(logical),
        "DisplayCollectionName": label(table.entity_set),
    }


def _attribute_base(table: Table, name: str, attribute_type: str, type_name: str) -> dict[str, object]:
    return {
        "@odata.type": f"#{CRM}{type_name}",
        "MetadataId": metadata_id("attribute", table.logical_name, name),
        "LogicalName": name,
        "SchemaName": schema_name(name),
        "EntityLogicalName": table.logical_name,
        "AttributeType": attribute_type,
        "AttributeTypeName": {"Value": f"{attribute_type}Type"},
        "AttributeOf": None,
        "IsPrimaryId": name == table.primary_key,
        "IsPrimaryName": name == table.primary_name,
        "IsCustomAttribute": False,
        "IsValidForRead": True,
        "IsValidForCreate": table.view_of is None,
        "IsValidForUpdate": table.view_of is None and name != table.primary_key,
        "RequiredLevel": {"Value": "None", "CanBeChanged": False},
        "DisplayName": label(name),
    }


def _column(table: Table, column: Column) -> dict[str, object]:
    attribute_type, type_name = ATTRIBUTE_TYPES[column.kind]
    item = _attribute_base(table, column.name, attribute_type, type_name)
    writable = column.writable and table.view_of is None
    # statecode cannot be set on create (IsValidForCreate false), as the writes enforce.
    item["IsValidForCreate"] = writable and column.kind is not Kind.STATE
    item["IsValidForUpdate"] = writable and column.name != table.primary_key
    if column.required:
        item["RequiredLevel"] = {"Value": "SystemRequired", "CanBeChanged": False}
    if column.kind in (Kind.STRING, Kind.MEMO):
        item["MaxLength"] = column.max_length
        item["Format"] = "Text" if column.kind is Kind.STRING else "TextArea"
    if column.kind in (Kind.DATETIME, Kind.DATEONLY):
        item["Format"] = "DateOnly" if column.kind is Kind.DATEONLY else "DateAndTime"
        item["DateTimeBehavior"] = {"Value": "DateOnly" if column.kind is Kind.DATEONLY else "UserLocal"}
    if column.kind in OPTION_SET_TYPES:
        item["OptionSet"] = _option_set(table, column)
        item["GlobalOptionSet"] = None
    return item


def _option_set(table: Table, column: Column) -> dict[str, object]:
    options = []
    for value, text in column.options.items():
        option: dict[str, object] = {"Value": value, "Label": label(text)}
        if column.kind is Kind.STATUS and table.states is not None:
            option["State"] = table.states.state_of(value)
        if column.kind is Kind.STATE and table.states is not None and value in table.states.pairs:
            option["DefaultStatus"] = table.states.default_status(value)
        options.append(option)
    return {
        "MetadataId": metadata_id("optionset", table.logical_name, column.name),
        "Name": f"{table.logical_name}_{column.name}",
        "IsGlobal": False,
        "OptionSetType": OPTION_SET_TYPES[column.kind],
        "Options": options,
    }


def _lookup(table: Table, lookup: Lookup) -> dict[str, object]:
    targets = sorted(set(lookup.navigations.values()))
    if lookup.attribute == "ownerid":
        attribute_type = "Owner"
    elif lookup.attribute in ("customerid", "parentcustomerid"):
        attribute_type = "Customer"
    else:
        attribute_type = "Lookup"
    item = _attribute_base(table, lookup.attribute, attribute_type, "LookupAttributeMetadata")
    item["IsValidForCreate"] = item["IsValidForUpdate"] = table.view_of is None
    item["Targets"] = targets
    if lookup.required:
        item["RequiredLevel"] = {"Value": "SystemRequired", "CanBeChanged": False}
    return item


def _attributes(table: Table) -> list[dict[str, object]]:
    items = [_column(table, column) for column in table.columns.values()]
    items += [_lookup(table, lookup) for lookup in table.lookups.values()]
    return items


def _keys(table: Table) -> list[dict[str, object]]:
    return [
        {
            "MetadataId": metadata_id("key", table.logical_name, *key),
            "LogicalName": f"{table.logical_name}_key{i + 1}",
            "SchemaName": f"{table.logical_name}_key{i + 1}",
            "EntityLogicalName": table.logical_name,
            "KeyAttributes": list(key),
            "EntityKeyIndexStatus": "Active",
            "DisplayName": label(", ".join(key)),
        }
        for i, key in enumerate(table.keys)
    ]


def _many_to_one(catalog: Catalog, table: Table) -> list[dict[str, object]]:
    """One relationship per (lookup, navigation property): what a bind by that name sets."""
    relationships = []
    for lookup in table.lookups.values():
        for navigation, target in lookup.navigations.items():
            referenced = catalog.by_logical.get(target)
            if referenced is None:
                continue
            collection = next(
                (
                    c.name
                    for c in referenced.collections.values()
                    if c.child == table.logical_name and c.lookup == lookup.attribute
                ),
                None,
            )
            relationships.append(
                {
                    "@odata.type": f"#{CRM}OneToManyRelationshipMetadata",
                    "MetadataId": metadata_id("relationship", table.logical_name, navigation),
                    "SchemaName": collection or f"{target}_{table.logical_name}_{navigation}",
                    "RelationshipType": "OneToManyRelationship",
                    "ReferencedEntity": target,
                    "ReferencedAttribute": referenced.primary_key,
                    "ReferencingEntity": table.logical_name,
                    "ReferencingAttribute": lookup.attribute,
                    "ReferencingEntityNavigationPropertyName": navigation,
                    # None where the emulator serves no collection-valued navigation for it.
                    "ReferencedEntityNavigationPropertyName": collection,
                    "IsCustomRelationship": False,
                    "CascadeConfiguration": {"Delete": "Cascade" if lookup.cascade_delete else "RemoveLink"},
                }
            )
    return relationships

"""`EntityDefinitions` queries over the generated definitions (docs/emulator.md#metadata).

`$select`, `$filter` (compiled by the same parser as row queries, over a pseudo-table of the
metadata type's scalar properties) and the few `$expand` forms clients use; anything else is 400.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulators.dataverse.model.schema import Column, Kind, Table
from emulators.dataverse.model.service_errors import ServiceError, bad_query, segment_not_found, unknown_property
from emulators.dataverse.model.values import parse_guid
from emulators.dataverse.webapi.definitions import CRM, Definitions, TableDefinitions
from emulators.dataverse.webapi.messages import ApiRequest, Reply
from emulators.dataverse.webapi.odata_filter import compile_filter
from emulators.dataverse.webapi.paths import Segment
from emulators.dataverse.webapi.query import split_expand_item, split_top_level


@dataclass(frozen=True)
class DefinitionType:
    """A metadata type as a pseudo-table, so `$filter` is compiled by the same parser as for rows."""

    type_name: str
    key: str
    columns: dict[str, Column]

    @property
    def table(self) -> Table:
        return Table(
            logical_name=self.type_name,
            entity_set=self.type_name,
            primary_key=self.key,
            primary_name=self.key,
            columns=self.columns,
        )


def _definition_type(
    type_name: str,
    key: str,
    *,
    strings: tuple[str, ...] = (),
    booleans: tuple[str, ...] = (),
    integers: tuple[str, ...] = (),
) -> DefinitionType:
    columns = {n: Column(n, Kind.STRING) for n in strings}
    columns.update({n: Column(n, Kind.BOOLEAN) for n in booleans})
    columns.update({n: Column(n, Kind.INTEGER) for n in integers})
    columns[key] = Column(key, Kind.GUID)
    return DefinitionType(type_name, key, columns)


# -- EntityDefinitions: generated definitions with $select, $filter and a few $expand forms

ENTITY = _definition_type(
    "EntityMetadata",
    "MetadataId",
    strings=("LogicalName", "SchemaName", "EntitySetName", "LogicalCollectionName", "CollectionSchemaName",
             "PrimaryIdAttribute", "PrimaryNameAttribute"),
    booleans=("IsActivity", "IsCustomEntity", "IsPrivate", "IsValidForAdvancedFind"),
    integers=("ObjectTypeCode",),
)
ENTITY_COMPLEX = ("DisplayName", "DisplayCollectionName")
ENTITY_NAVIGATIONS = ("Attributes", "Keys", "ManyToOneRelationships", "OneToManyRelationships", "ManyToManyRelationships")
ATTRIBUTE = _definition_type(
    "AttributeMetadata",
    "MetadataId",
    strings=("LogicalName", "SchemaName", "EntityLogicalName", "AttributeType", "AttributeOf"),
    booleans=("IsPrimaryId", "IsPrimaryName", "IsCustomAttribute", "IsValidForRead", "IsValidForCreate",
              "IsValidForUpdate"),
)
ATTRIBUTE_COMPLEX = ("AttributeTypeName", "RequiredLevel", "DisplayName")
# Properties of derived attribute types, readable after a cast to that type.
DERIVED_PROPERTIES = {
    "StringAttributeMetadata": ("MaxLength", "Format"),
    "MemoAttributeMetadata": ("MaxLength", "Format"),
    "DateTimeAttributeMetadata": ("Format", "DateTimeBehavior"),
    "LookupAttributeMetadata": ("Targets",),
}
OPTION_SET_TYPES = ("PicklistAttributeMetadata", "StateAttributeMetadata", "StatusAttributeMetadata")
KNOWN_ATTRIBUTE_TYPES = {
    "StringAttributeMetadata", "MemoAttributeMetadata", "IntegerAttributeMetadata", "BigIntAttributeMetadata",
    "DecimalAttributeMetadata", "BooleanAttributeMetadata", "DateTimeAttributeMetadata",
    "UniqueIdentifierAttributeMetadata", "LookupAttributeMetadata", *OPTION_SET_TYPES,
}
KEY = _definition_type(
    "EntityKeyMetadata",
    "MetadataId",
    strings=("LogicalName", "SchemaName", "EntityLogicalName", "EntityKeyIndexStatus"),
)
KEY_COMPLEX = ("KeyAttributes", "DisplayName")
RELATIONSHIP = _definition_type(
    "OneToManyRelationshipMetadata",
    "MetadataId",
    strings=("SchemaName", "RelationshipType", "ReferencedEntity", "ReferencedAttribute", "ReferencingEntity",
             "ReferencingAttribute", "ReferencingEntityNavigationPropertyName",
             "ReferencedEntityNavigationPropertyName"),
    booleans=("IsCustomRelationship",),
)
RELATIONSHIP_COMPLEX = ("CascadeConfiguration",)
ALLOWED_OPTIONS = {"$select", "$filter", "$expand"}


def entity_definitions(definitions: Definitions, request: ApiRequest, segments: list[Segment]) -> Reply:
    if request.method != "GET":
        raise ServiceError(
            405, "0x80060888", "The emulator's table definitions are read-only; create tables with custom_columns."
        )
    options = _metadata_options(request)
    base = request.base_url
    first = segments[0]
    if first.key is None:
        if len(segments) != 1:
            raise segment_not_found(segments[1].name)
        items = [d.entity for d in definitions.tables.values()]
        return _listing(base + "$metadata#EntityDefinitions", items, ENTITY, ENTITY_COMPLEX, options)
    tables = _table_definitions(definitions, first.key)
    if len(segments) == 1:
        return _entity_reply(f"{base}$metadata#EntityDefinitions/$entity", tables, options)
    context = f"{base}$metadata#EntityDefinitions({first.key})"
    name, rest = segments[1].name, segments[2:]
    if name == "Attributes":
        return _attributes(context, tables.attributes, segments[1].key, rest, options)
    if rest:
        raise segment_not_found(rest[0].name)
    if name == "Keys":
        return _members(f"{context}/Keys", tables.keys, segments[1].key, KEY, KEY_COMPLEX, options)
    if name == "ManyToOneRelationships":
        return _members(f"{context}/ManyToOneRelationships", tables.many_to_one, segments[1].key, RELATIONSHIP, RELATIONSHIP_COMPLEX, options)
    if name == "OneToManyRelationships":
        return _members(f"{context}/OneToManyRelationships", tables.one_to_many, segments[1].key, RELATIONSHIP, RELATIONSHIP_COMPLEX, options)
    if name == "ManyToManyRelationships" and segments[1].key is None:
        _no_options(options, "ManyToManyRelationships")
        return Reply.json(200, {"@odata.context": f"{context}/ManyToManyRelationships", "value": []})
    raise segment_not_found(name)


def _metadata_options(request: ApiRequest) -> dict[str, str]:
    options: dict[str, str] = {}
    for name, value in request.query:
        if name not in ALLOWED_OPTIONS:
            raise bad_query(f"The query parameter '{name}' is not supported on table definitions by the emulator.")
        if name in options:
            raise bad_query(f"The query parameter '{name}' is specified more than once.")
        options[name] = value
    return options


def _no_options(options: dict[str, str], what: str) -> None:
    if options:
        raise bad_query(f"Query options are not supported on {what} by the emulator.")


def _table_definitions(definitions: Definitions, key: str) -> TableDefinitions:
    logical = _logical_from_key(key, definitions.by_id)
    found = definitions.tables.get(logical) if logical is not None else None
    if found is None:
        raise ServiceError(404, "0x80040217", f"Could not find entity with key {key}.")
    return found


def _logical_from_key(key: str, by_id: dict[str, str]) -> str | None:
    name, sep, value = key.partition("=")
    if sep:
        if name.strip() != "LogicalName" or len(value) < 2 or value[0] != "'" or value[-1] != "'":
            raise bad_query(f"The key '{key}' is not valid; use LogicalName='name' or the MetadataId.")
        return value[1:-1].replace("''", "'")
    guid = parse_guid(key)
    if guid is None:
        raise bad_query(f"The key '{key}' is not valid; use LogicalName='name' or the MetadataId.")
    return by_id.get(guid)


def _entity_reply(context: str, tables: TableDefinitions, options: dict[str, str]) -> Reply:
    if "$filter" in options:
        raise bad_query("The query option $filter is not allowed on a single table definition.")
    row = _project(tables.entity, ENTITY, ENTITY_COMPLEX, options.get("$select"))
    for name, inner in _expansions(options.get("$expand"), ENTITY_NAVIGATIONS, ENTITY.type_name):
        if name == "Attributes":
            row[name] = [_project(a, ATTRIBUTE, ATTRIBUTE_COMPLEX, inner.get("$select")) for a in tables.attributes]
        elif name == "Keys":
            row[name] = [_project(k, KEY, KEY_COMPLEX, inner.get("$select")) for k in tables.keys]
        elif name == "ManyToManyRelationships":
            row[name] = []
        else:
            members = tables.many_to_one if name == "ManyToOneRelationships" else tables.one_to_many
            row[name] = [_project(r, RELATIONSHIP, RELATIONSHIP_COMPLEX, inner.get("$select")) for r in members]
    return Reply.json(200, {"@odata.context": context, **row})


def _expansions(text: str | None, allowed: tuple[str, ...], type_name: str) -> list[tuple[str, dict[str, str]]]:
    if text is None:
        return []
    result = []
    for item in split_top_level(text, ","):
        name, inner = split_expand_item(item, text)
        if name not in allowed:
            raise unknown_property(type_name, name)
        if set(inner) - {"$select"}:
            raise bad_query(f"Only $select is supported inside $expand={name}(...) by the emulator.")
        result.append((name, inner))
    return result


def _members(
    context: str,
    items: list[dict[str, object]],
    key: str | None,
    kind: DefinitionType,
    complex_names: tuple[str, ...],
    options: dict[str, str],
) -> Reply:
    if key is None:
        return _listing(context, items, kind, complex_names, options)
    item = _member(items, key)
    if "$filter" in options or "$expand" in options:
        raise bad_query("Only $select is allowed on a single definition.")
    return Reply.json(200, {"@odata.context": f"{context}/$entity", **_project(item, kind, complex_names, options.get("$select"))})


def _member(items: list[dict[str, object]], key: str) -> dict[str, object]:
    name, sep, value = key.partition("=")
    if sep and name.strip() == "LogicalName" and len(value) >= 2 and value[0] == value[-1] == "'":
        wanted, field = value[1:-1].replace("''", "'"), "LogicalName"
    elif not sep and parse_guid(key) is not None:
        wanted, field = parse_guid(key), "MetadataId"
    else:
        raise bad_query(f"The key '{key}' is not valid; use LogicalName='name' or the MetadataId.")
    for item in items:
        if item.get(field) == wanted:
            return item
    raise ServiceError(404, "0x80040217", f"Could not find a definition with key {key}.")


def _attributes(
    context: str, attributes: list[dict[str, object]], key: str | None, rest: list[Segment], options: dict[str, str]
) -> Reply:
    cast = None
    if rest:
        if len(rest) > 1 or rest[0].key is not None or not rest[0].name.startswith(CRM):
            raise segment_not_found(rest[-1].name)
        cast = rest[0].name[len(CRM) :]
        if cast not in KNOWN_ATTRIBUTE_TYPES:
            raise bad_query(f"The type '{rest[0].name}' is not an attribute type the emulator serves.")
    if cast is not None:
        attributes = [a for a in attributes if a["@odata.type"] == f"#{CRM}{cast}"]
    kind = ATTRIBUTE if cast is None else _cast_type(cast)
    complex_names = ATTRIBUTE_COMPLEX + DERIVED_PROPERTIES.get(cast or "", ())
    navigations = ("OptionSet", "GlobalOptionSet") if cast in OPTION_SET_TYPES else ()
    suffix = f"/{CRM}{cast}" if cast else ""
    if key is None:
        return _listing(f"{context}/Attributes{suffix}", attributes, kind, complex_names, options, navigations)
    if "$filter" in options:
        raise bad_query("The query option $filter is not allowed on a single attribute definition.")
    item = _member(attributes, key)
    row = _project(item, kind, complex_names, options.get("$select"))
    _expand_option_sets(row, item, options.get("$expand"), navigations, kind.type_name)
    return Reply.json(200, {"@odata.context": f"{context}/Attributes{suffix}/$entity", **row})


def _cast_type(cast: str) -> DefinitionType:
    extra = {name for name in DERIVED_PROPERTIES.get(cast, ()) if name == "MaxLength"}
    return DefinitionType(
        cast,
        ATTRIBUTE.key,
        {**ATTRIBUTE.table.columns, **{n: Column(n, Kind.INTEGER) for n in extra}},
    )


def _expand_option_sets(
    row: dict[str, object], item: dict[str, object], text: str | None, navigations: tuple[str, ...], type_name: str
) -> None:
    for name, inner in _expansions(text, navigations, type_name) if navigations or text else []:
        value = item.get(name)
        if isinstance(value, dict) and "$select" in inner:
            wanted = [n.strip() for n in inner["$select"].split(",") if n.strip()]
            unknown = [n for n in wanted if n not in value]
            if unknown:
                raise unknown_property(f"{CRM}OptionSetMetadata", unknown[0])
            value = {"MetadataId": value["MetadataId"], **{n: value[n] for n in wanted}}
        row[name] = value


def _listing(
    context: str,
    items: list[dict[str, object]],
    kind: DefinitionType,
    complex_names: tuple[str, ...],
    options: dict[str, str],
    navigations: tuple[str, ...] = (),
) -> Reply:
    if "$filter" in options:
        predicate = compile_filter(kind.table, options["$filter"])
        items = [i for i in items if predicate(i)]
    if "$expand" in options and not navigations:
        name = split_top_level(options["$expand"], ",")[0].partition("(")[0].strip()
        raise unknown_property(f"{CRM}{kind.type_name}", name)
    value = []
    for item in items:
        row = _project(item, kind, complex_names, options.get("$select"))
        _expand_option_sets(row, item, options.get("$expand"), navigations, kind.type_name)
        value.append(row)
    return Reply.json(200, {"@odata.context": context, "value": value})


def _project(
    item: dict[str, object], kind: DefinitionType, complex_names: tuple[str, ...], select: str | None
) -> dict[str, object]:
    readable = set(kind.table.columns) | set(complex_names)
    if select is None:
        names = [n for n in item if n in readable]
    else:
        names = [n.strip() for n in select.split(",") if n.strip()]
        for name in names:
            if name not in readable:
                raise unknown_property(f"{CRM}{kind.type_name}", name)
    row: dict[str, object] = {}
    if "@odata.type" in item:
        row["@odata.type"] = item["@odata.type"]
    for name in names:
        row[name] = item.get(name)
    row.setdefault(kind.key, item[kind.key])
    return row

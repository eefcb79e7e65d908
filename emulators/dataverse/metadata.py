"""A minimal `$metadata` document and `EntityDefinitions(LogicalName='x')/Keys` (docs/dataverse-webapi.md#37-defining-alternate-keys, optional in #121-routing)."""

from __future__ import annotations

from html import escape

from emulators.dataverse.catalog import Catalog
from emulators.dataverse.messages import ApiRequest, Reply
from emulators.dataverse.paths import Segment
from emulators.dataverse.schema import EDM_TYPES
from emulators.dataverse.service_errors import no_route, segment_not_found


def csdl(catalog: Catalog) -> str:
    types, sets = [], []
    for table in catalog.by_logical.values():
        properties = "".join(
            f'<Property Name="{escape(c.name)}" Type="{EDM_TYPES[c.kind]}"/>' for c in table.columns.values()
        )
        lookups = "".join(
            f'<Property Name="{escape(lookup.value_property)}" Type="Edm.Guid"/>' for lookup in table.lookups.values()
        )
        navigations = "".join(
            f'<NavigationProperty Name="{escape(nav)}" Type="mscrm.{escape(target)}"/>'
            for lookup in table.lookups.values()
            for nav, target in lookup.navigations.items()
        )
        collections = "".join(
            f'<NavigationProperty Name="{escape(c.name)}" Type="Collection(mscrm.{escape(c.child)})"/>'
            for c in table.collections.values()
        )
        types.append(
            f'<EntityType Name="{escape(table.logical_name)}"><Key><PropertyRef Name="{escape(table.primary_key)}"/>'
            f"</Key>{properties}{lookups}{navigations}{collections}</EntityType>"
        )
        sets.append(f'<EntitySet Name="{escape(table.entity_set)}" EntityType="mscrm.{escape(table.logical_name)}"/>')
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>'
        '<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">'
        + "".join(types)
        + '<EntityContainer Name="System">'
        + "".join(sets)
        + "</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"
    )


def entity_definitions(catalog: Catalog, request: ApiRequest, segments: list[Segment]) -> Reply:
    if request.method != "GET" or len(segments) != 2 or segments[1].name != "Keys" or segments[0].key is None:
        raise no_route(request.method, request.path)
    name, _, value = segments[0].key.partition("=")
    logical = value.strip("'")
    if name != "LogicalName" or logical not in catalog.by_logical:
        raise segment_not_found(f"EntityDefinitions({segments[0].key})")
    table = catalog.table(logical)
    keys = [
        {
            "SchemaName": f"{logical}_key{i + 1}",
            "LogicalName": f"{logical}_key{i + 1}",
            "KeyAttributes": list(key),
            "EntityKeyIndexStatus": "Active",
        }
        for i, key in enumerate(table.keys)
    ]
    context = f"{request.base_url}$metadata#EntityDefinitions('{logical}')/Keys"
    return Reply.json(200, {"@odata.context": context, "value": keys})

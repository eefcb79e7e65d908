"""A minimal `$metadata` document: entity types, keys, properties and navigation names (docs/emulator.md#metadata)."""

from __future__ import annotations

from html import escape

from emulators.dataverse.model.catalog import Catalog
from emulators.dataverse.model.schema import EDM_TYPES


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

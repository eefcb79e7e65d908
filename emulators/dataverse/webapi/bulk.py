"""CreateMultiple, UpdateMultiple and UpsertMultiple: all-or-nothing bulk writes (docs/dataverse-webapi.md#6-bulk-operations)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulators.dataverse.model.schema import Table
from emulators.dataverse.model.service_errors import ServiceError, bad_payload, no_route
from emulators.dataverse.model.values import parse_guid
from emulators.dataverse.webapi.messages import ApiRequest, Reply
from emulators.dataverse.webapi.paths import KeyRef, parse_key, split_segments, strip_service_root

if TYPE_CHECKING:
    from emulators.dataverse.webapi.api import WebApi

ACTIONS = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")


def _targets(request: ApiRequest, table: Table) -> list[dict[str, object]]:
    body = request.json_body(table.entity_set)
    targets = body.get("Targets")
    if not isinstance(targets, list) or not targets:
        raise bad_payload(table.entity_set, "The 'Targets' parameter must be a non-empty array of entities.")
    for index, target in enumerate(targets):
        if not isinstance(target, dict):
            raise bad_payload(table.entity_set, f"Targets[{index}] must be an object.")
        odata_type = target.get("@odata.type")
        if odata_type is None:
            raise bad_payload(
                table.entity_set,
                f"Targets[{index}] has no '@odata.type'; each target needs \"@odata.type\": \"{table.type_name}\".",
            )
        if str(odata_type).lstrip("#") != table.type_name:
            raise bad_payload(table.entity_set, f"Targets[{index}] has @odata.type '{odata_type}', not '{table.type_name}'.")
    return targets


def _identity(table: Table, target: dict[str, object], *, allow_key: bool) -> KeyRef | None:
    raw_id = target.get(table.primary_key)
    if raw_id is not None:
        guid = parse_guid(raw_id) if isinstance(raw_id, str) else None
        if guid is None:
            raise bad_payload(table.entity_set, f"'{raw_id}' is not a valid {table.primary_key}.")
        return KeyRef(id=guid)
    reference = target.get("@odata.id")
    if allow_key and isinstance(reference, str):
        segments = split_segments(strip_service_root(reference))
        if len(segments) != 1 or segments[0].name != table.entity_set or segments[0].key is None:
            raise bad_payload(table.entity_set, f"The @odata.id '{reference}' does not name a {table.logical_name}.")
        return parse_key(table, segments[0].key)
    return None


def run_bulk(api: WebApi, request: ApiRequest, table: Table, action: str) -> Reply:
    if action not in ACTIONS:
        raise no_route(request.method, request.path)
    if table.view_of is not None:
        raise ServiceError(400, "0x80040203", f"{action} is not supported for '{table.logical_name}'.")
    targets = _targets(request, table)
    writer = api.writer
    access = api.access(request)
    with api.store.atomic():
        if action == "CreateMultiple":
            access.require_create(table)
            ids = [writer.create(table, target).id for target in targets]
            context = f"{request.base_url}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse"
            return Reply.json(200, {"@odata.context": context, "Ids": ids})
        if action == "UpdateMultiple":
            applied: set[str] = set()
            for target in targets:
                key = _identity(table, target, allow_key=False)
                if key is None or key.id is None:
                    raise bad_payload(table.entity_set, f"Each UpdateMultiple target needs its {table.primary_key}.")
                if key.id in applied:
                    continue  # standard tables apply only the first of duplicate targets (docs/dataverse-webapi.md#6-bulk-operations)
                existing = writer.find(table, key)
                if existing is None:
                    raise ServiceError(
                        404, "0x80040217", f"{table.logical_name} With Ids = {key.id} Do Not Exist"
                    )
                access.require_write(table, existing)
                writer.update(table, existing, target)
                applied.add(key.id)
            return Reply.empty(204)
        seen: set[str] = set()
        for target in targets:
            key = _identity(table, target, allow_key=True)
            if key is None:
                raise bad_payload(table.entity_set, "Each UpsertMultiple target needs its primary key or an @odata.id.")
            marker = key.url_text().casefold()
            if marker in seen:
                raise ServiceError(400, "0x80040237", "UpsertMultiple received duplicate targets for the same record.")
            seen.add(marker)
            existing = writer.find(table, key)
            if existing is None:
                access.require_create(table)
                writer.create(table, target, record_id=key.id, key_values=dict(key.values) or None)
            else:
                access.require_write(table, existing)
                writer.update(table, existing, target, drop_keys=key.id is None)
        return Reply.empty(204)

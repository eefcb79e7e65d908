"""Read-only HTML: the table index and a record's appointment timeline (every value escaped)."""

from __future__ import annotations

from html import escape

from emulators.dataverse.model.catalog import Catalog
from emulators.dataverse.model.service_errors import ServiceError, segment_not_found
from emulators.dataverse.model.store import Store
from emulators.dataverse.model.values import parse_guid

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}"
)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def index_page(catalog: Catalog, store: Store) -> str:
    counts = store.counts()
    rows = "".join(
        f"<tr><td>{escape(t.entity_set)}</td><td>{escape(t.logical_name)}</td><td>{counts.get(t.logical_name, 0)}</td>"
        f"<td><a href='/_emulator/rows/{escape(t.entity_set)}'>JSON</a></td></tr>"
        for t in catalog.stored_tables()
    )
    people = []
    for logical in ("lead", "contact"):
        table = catalog.table(logical)
        for record in store.all(table):
            name = record.values.get("fullname") or record.values.get("emailaddress1") or record.id
            people.append(
                f"<li><a href='/_emulator/timeline/{escape(table.entity_set)}/{escape(record.id)}'>"
                f"{escape(str(name))}</a> ({escape(logical)})</li>"
            )
    body = (
        "<p>Dataverse Web API emulator. API root: <code>/api/data/v9.2/</code></p>"
        f"<table><tr><th>entity set</th><th>table</th><th>rows</th><th></th></tr>{rows}</table>"
        f"<h2>Timelines</h2><ul>{''.join(people) or '<li>no leads or contacts</li>'}</ul>"
    )
    return _page("Dataverse emulator", body)


def timeline_page(catalog: Catalog, store: Store, entity_set: str, record_id: str) -> str:
    """Appointments regarding the record, newest first, as the form's timeline would list them."""
    table = catalog.by_set.get(entity_set)
    if table is None:
        raise segment_not_found(entity_set)
    guid = parse_guid(record_id)
    record = store.get(table, guid) if guid else None
    if record is None:
        raise ServiceError(404, "0x80040217", f"Entity '{table.logical_name}' With Id = {record_id} Does Not Exist")
    appointment = catalog.table("appointment")
    states = appointment.columns["statecode"].options
    regarding = (table.logical_name, record.id)
    items = [a for a in store.all(appointment) if a.lookups.get("regardingobjectid") == regarding]
    items.sort(key=lambda a: str(a.values.get("scheduledstart") or a.values.get("createdon") or ""), reverse=True)
    rows = "".join(
        "<tr>"
        f"<td>{escape(str(a.values.get('subject') or ''))}</td>"
        f"<td>{escape(str(a.values.get('scheduledstart') or ''))}</td>"
        f"<td>{escape(str(a.values.get('scheduledend') or ''))}</td>"
        f"<td>{escape(str(states.get(a.values.get('statecode'), '')))}</td>"  # type: ignore[call-overload]
        f"<td>{escape(str(a.values.get('location') or ''))}</td>"
        "</tr>"
        for a in items
    )
    name = record.values.get(table.primary_name) or record.id
    body = (
        f"<p>{escape(table.logical_name)} <code>{escape(record.id)}</code></p>"
        "<table><tr><th>subject</th><th>start (UTC)</th><th>end (UTC)</th><th>state</th><th>location</th></tr>"
        f"{rows or '<tr><td colspan=5>no appointments</td></tr>'}</table>"
        "<p><a href='/_emulator/'>all tables</a></p>"
    )
    return _page(f"Timeline: {name}", body)

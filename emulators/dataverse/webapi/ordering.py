"""$orderby semantics: nulls first when ascending, strings compared case-insensitively (as SQL Server collates)."""

from __future__ import annotations

from collections.abc import Sequence

from emulators.dataverse.model.store import Record


def sort_key(value: object) -> tuple[int, object]:
    if value is None:
        return (0, "")
    if isinstance(value, str):
        return (1, value.casefold())
    return (1, value)


def order_rows(
    rows: list[tuple[Record, dict[str, object]]], orderby: Sequence[tuple[str, bool]]
) -> list[tuple[Record, dict[str, object]]]:
    ordered = list(rows)
    for name, descending in reversed(orderby):
        ordered.sort(key=lambda pair: sort_key(pair[1].get(name)), reverse=descending)
    return ordered

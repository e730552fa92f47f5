"""The locations table (``locations.csv``, a locations query); stock is a side table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnisync.models import Location, Problem
from omnisync.sources.base import ProblemSink

if TYPE_CHECKING:
    from omnisync.sources.tabular import Table

LOCATION_TYPES = frozenset({"warehouse", "store"})
YES = frozenset({"yes", "true", "1", "да", "y"})
NO = frozenset({"no", "false", "0", "нет", "n", ""})


def read_locations(table: Table, on_problem: ProblemSink) -> list[Location]:
    """Every well-formed location row of ``table``; the rest reported with its line."""
    table.required = ("code", "name", "type")
    found: dict[str, Location] = {}
    for line, cells in table.rows(on_problem):
        row = {k: v.strip() for k, v in zip(table.header, cells, strict=True)}
        reason = _location_problem(row, found)
        if reason:
            on_problem(
                Problem(
                    code="bad_location",
                    field=reason[0],
                    message=reason[1],
                    file=table.name,
                    line=line,
                )
            )
            continue
        found[row["code"]] = Location(
            code=row["code"],
            name=row["name"],
            type=row["type"].lower(),
            city=row.get("city", ""),
            address=row.get("address", ""),
            pickup=row.get("pickup", "").lower() in YES,
        )
    return list(found.values())


def _location_problem(row: dict[str, str], found: dict[str, Location]) -> tuple[str, str] | None:
    if not row["code"]:
        return "code", "code is empty"
    if row["code"] in found:
        return "code", f"location {row['code']} appears twice; the first row is kept"
    if row["type"].lower() not in LOCATION_TYPES:
        return "type", f"type {row['type']!r} must be warehouse or store"
    if row.get("pickup", "").lower() not in YES | NO:
        return "pickup", f"pickup {row['pickup']!r} must be yes or no"
    return None

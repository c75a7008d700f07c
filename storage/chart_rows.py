"""The org chart as the rows of its tables, the same for every engine.

An import empties the chart's tables and fills them again in one transaction;
the staff table alone is updated in place (its rows are referred to by the
accounts bound to each member).  Both engines write the same rows: this module
says which, and each engine only says how its driver spells a placeholder, a
JSON value and a boolean (`adapt`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.domain.orgchart import (
    Area,
    AreaKind,
    Category,
    EscalationLevel,
    EscalationTarget,
    Family,
    GeoPoint,
    OrgChart,
    Role,
    StaffMember,
    WardPolicy,
)

# Emptied and filled again by every import, children first.
CHART_TABLES = (
    "ward_policies",
    "family_defaults",
    "assignments",
    "staff_wards",
    "staff_roles",
    "categories",
    "areas",
)


@dataclass(frozen=True)
class TableRows:
    """One table's rows; ``key`` names the column an upsert keeps rows by."""

    table: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    key: str | None = None

    def insert(self, placeholder: Callable[[int], str]) -> str:
        """The INSERT (an upsert when the table has a key) in the engine's placeholders."""
        marks = ", ".join(placeholder(n) for n in range(1, len(self.columns) + 1))
        sql = f"INSERT INTO {self.table} ({', '.join(self.columns)}) VALUES ({marks})"
        if self.key is None:
            return sql
        kept = ", ".join(f"{c} = excluded.{c}" for c in self.columns if c != self.key)
        return f"{sql} ON CONFLICT ({self.key}) DO UPDATE SET {kept}"

    def adapted(self, adapt: Callable[[Any], Any]) -> list[tuple[Any, ...]]:
        return [tuple(adapt(value) for value in row) for row in self.rows]


def chart_rows(chart: OrgChart) -> list[TableRows]:
    """Every table of ``chart``, parents first (the order they are written in)."""
    staff = list(chart.staff.values())
    return [
        TableRows(
            "areas",
            ("code", "name", "kind", "parent", "polygon", "centre_lon", "centre_lat", "position"),
            [
                (
                    a.code,
                    a.name,
                    a.kind.value,
                    a.parent,
                    [[p.lon, p.lat] for p in a.polygon] if a.polygon else None,
                    a.centre.lon if a.centre else None,
                    a.centre.lat if a.centre else None,
                    i,
                )
                for i, a in enumerate(chart.areas.values())
            ],
        ),
        TableRows(
            "categories",
            (
                "code",
                "name",
                "name_en",
                "family",
                "resolve_days",
                "position",
                "acknowledge_hours",
                "urgent",
                "escalation",
                "repeat",
                "templates",
                "words",
            ),
            [
                (
                    c.code,
                    c.name,
                    c.name_en,
                    c.family.value,
                    c.resolve_days,
                    i,
                    c.acknowledge_hours,
                    c.urgent,
                    [[lvl.after_days, lvl.target.value] for lvl in c.escalation],
                    c.repeat,
                    {
                        "acknowledge": list(c.acknowledge_templates),
                        "resolve": list(c.resolve_templates),
                    },
                    list(c.words),
                )
                for i, c in enumerate(chart.categories.values())
            ],
        ),
        TableRows(
            "staff",
            ("id", "name", "telegram_id", "zalo_id", "position", "active"),
            [(s.id, s.name, s.telegram_id, s.zalo_id, i, s.active) for i, s in enumerate(staff)],
            key="id",
        ),
        TableRows(
            "staff_roles",
            ("staff_id", "role"),
            [(s.id, r.value) for s in staff for r in sorted(s.roles)],
        ),
        TableRows(
            "staff_wards",
            ("staff_id", "ward", "position"),
            [(s.id, w, i) for s in staff for i, w in enumerate(s.wards)],
        ),
        TableRows(
            "assignments",
            ("area", "category", "cadre"),
            [(a, c, s) for (a, c), s in chart.assignments.items()],
        ),
        TableRows(
            "family_defaults",
            ("ward", "family", "cadre"),
            [(w, f.value, s) for (w, f), s in chart.family_defaults.items()],
        ),
        TableRows(
            "ward_policies",
            ("ward", "leader", "conduct_leader", "refer_to"),
            [(p.ward, p.leader, p.conduct_leader, p.refer_to) for p in chart.wards.values()],
        ),
    ]


def removed_staff(known: Iterable[str], chart: OrgChart) -> list[str]:
    """The staff the database knows and the new chart no longer names."""
    return sorted(set(known) - set(chart.staff))


# How the chart is read back: each table in its order (a table's rows are
# mappings by column name, as both drivers give them).
CHART_READS = {
    "areas": "SELECT * FROM areas ORDER BY position",
    "categories": "SELECT * FROM categories ORDER BY position",
    "staff_roles": "SELECT staff_id, role FROM staff_roles",
    "staff_wards": "SELECT staff_id, ward FROM staff_wards ORDER BY position",
    "staff": "SELECT * FROM staff ORDER BY position",
    "assignments": "SELECT * FROM assignments",
    "family_defaults": "SELECT * FROM family_defaults",
    "ward_policies": "SELECT * FROM ward_policies",
}


class Row(Protocol):
    """A row by column name, as both drivers give it (sqlite3.Row, asyncpg.Record)."""

    def __getitem__(self, key: str, /) -> Any: ...


Rows = Sequence[Row]


def chart_from(tables: Mapping[str, Rows], json_value: Callable[[Any], Any]) -> OrgChart | None:
    """The chart the rows of `CHART_READS` hold, or None before the first import.
    ``json_value`` turns a JSON column as the engine returns it into Python values."""
    if not tables["areas"]:
        return None
    areas = {r["code"]: _area(r, json_value) for r in tables["areas"]}
    categories = {r["code"]: _category(r, json_value) for r in tables["categories"]}
    roles: dict[str, set[Role]] = {}
    for r in tables["staff_roles"]:
        roles.setdefault(r["staff_id"], set()).add(Role(r["role"]))
    wards_of: dict[str, list[str]] = {}
    for r in tables["staff_wards"]:
        wards_of.setdefault(r["staff_id"], []).append(r["ward"])
    staff = {
        r["id"]: StaffMember(
            r["id"],
            r["name"],
            frozenset(roles.get(r["id"], set())),
            tuple(wards_of.get(r["id"], [])),
            r["telegram_id"],
            active=bool(r["active"]),
            zalo_id=r["zalo_id"],
        )
        for r in tables["staff"]
    }
    assignments = {(r["area"], r["category"]): r["cadre"] for r in tables["assignments"]}
    defaults = {(r["ward"], Family(r["family"])): r["cadre"] for r in tables["family_defaults"]}
    policies = {
        r["ward"]: WardPolicy(r["ward"], r["leader"], r["conduct_leader"], r["refer_to"])
        for r in tables["ward_policies"]
    }
    return OrgChart(areas, categories, staff, assignments, defaults, policies)


def _area(r: Row, json_value: Callable[[Any], Any]) -> Area:
    polygon = (
        tuple(GeoPoint(lon=p[0], lat=p[1]) for p in json_value(r["polygon"]))
        if r["polygon"]
        else None
    )
    centre = (
        GeoPoint(lon=r["centre_lon"], lat=r["centre_lat"]) if r["centre_lon"] is not None else None
    )
    return Area(r["code"], r["name"], AreaKind(r["kind"]), r["parent"], polygon, centre)


def _category(r: Row, json_value: Callable[[Any], Any]) -> Category:
    templates = json_value(r["templates"]) if r["templates"] else {}
    return Category(
        r["code"],
        r["name"],
        r["name_en"],
        Family(r["family"]),
        r["resolve_days"],
        acknowledge_hours=r["acknowledge_hours"],
        urgent=bool(r["urgent"]),
        escalation=tuple(
            EscalationLevel(float(days), EscalationTarget(target))
            for days, target in (json_value(r["escalation"]) if r["escalation"] else [])
        ),
        repeat=r["repeat"],
        acknowledge_templates=tuple(str(t) for t in templates.get("acknowledge", [])),
        resolve_templates=tuple(str(t) for t in templates.get("resolve", [])),
        words=tuple(str(w) for w in (json_value(r["words"]) if r["words"] else [])),
    )

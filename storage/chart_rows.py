"""The org chart as the rows of its tables, the same for every engine.

An import empties the chart's tables and fills them again in one transaction;
the staff table alone is updated in place (its rows are referred to by the
accounts bound to each member).  Both engines write the same rows: this module
says which, and each engine only says how its driver spells a placeholder, a
JSON value and a boolean (`adapt`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bot.domain.orgchart import OrgChart

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

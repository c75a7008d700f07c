"""Write the org chart back as YAML, in the schema `phananh org import` reads.

The export is what the database holds now (deactivations included), so a
ward office can edit it and import it again as a diff.
"""

from __future__ import annotations

from typing import Any

import yaml

from bot.domain.orgchart import Area, Category, OrgChart
from bot.i18n import DEFAULT_LANGUAGE, t


def header(language: str) -> str:
    """The comment the file opens with, in the clerk's language: the file
    is theirs to edit."""
    return "".join(f"# {line}\n" for line in t(language, "cli.export_header").splitlines())


def _area(chart: OrgChart, area: Area) -> dict[str, Any]:
    out: dict[str, Any] = {"code": area.code, "name": area.name, "kind": area.kind.value}
    policy = chart.wards.get(area.code)
    if policy is not None:
        out["leader"] = policy.leader
        if policy.conduct_leader != policy.leader:
            out["conduct_leader"] = policy.conduct_leader
        if policy.refer_to:
            out["refer_to"] = policy.refer_to
    if area.polygon:
        out["polygon"] = [[p.lon, p.lat] for p in area.polygon]
    if area.centre:
        out["centre"] = [area.centre.lon, area.centre.lat]
    children = [_area(chart, a) for a in chart.areas.values() if a.parent == area.code]
    if children:
        out["children"] = children
    return out


def _category(category: Category) -> dict[str, Any]:
    out: dict[str, Any] = {
        "code": category.code,
        "name": category.name,
        "name_en": category.name_en,
        "family": category.family.value,
        "resolve_days": category.resolve_days,
        "acknowledge_hours": category.acknowledge_hours,
        "escalation": [
            {"after_days": level.after_days, "to": level.target.value}
            for level in category.escalation
        ],
        "repeat": category.repeat,
    }
    if category.urgent:
        out["urgent"] = True
    templates = {
        kind: list(values)
        for kind, values in (
            ("acknowledge", category.acknowledge_templates),
            ("resolve", category.resolve_templates),
        )
        if values
    }
    if templates:
        out["templates"] = templates
    if category.words:
        out["words"] = list(category.words)
    return out


class _Dumper(yaml.SafeDumper):
    """Coordinate pairs and short code lists on one line, as people write them."""


def _flow_short(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.Node:
    short = all(isinstance(v, int | float | str) for v in value) and len(value) <= 12
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=short)


_Dumper.add_representer(list, _flow_short)


def dump_org(chart: OrgChart, language: str = DEFAULT_LANGUAGE) -> str:
    assignments: dict[tuple[str, str], list[str]] = {}
    for (area, category), cadre in chart.assignments.items():
        assignments.setdefault((area, cadre), []).append(category)
    document = {
        "areas": [_area(chart, a) for a in chart.areas.values() if a.parent is None],
        "categories": [_category(c) for c in chart.categories.values()],
        "staff": [
            {
                "id": s.id,
                "name": s.name,
                "roles": sorted(r.value for r in s.roles),
                "wards": list(s.wards),
                **({"telegram_id": s.telegram_id} if s.telegram_id is not None else {}),
                **({"zalo_id": s.zalo_id} if s.zalo_id is not None else {}),
                **({} if s.active else {"active": False}),
            }
            for s in chart.staff.values()
        ],
        "assignments": [
            {"area": area, "categories": categories, "cadre": cadre}
            for (area, cadre), categories in assignments.items()
        ],
        "family_defaults": [
            {"ward": ward, "family": family.value, "cadre": cadre}
            for (ward, family), cadre in chart.family_defaults.items()
        ],
    }
    body = yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    return header(language) + body

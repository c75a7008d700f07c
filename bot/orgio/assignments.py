"""Who is assigned to which group and category (from the YAML or a CSV
list), and the cadre each ward and family falls back to."""

from __future__ import annotations

from collections.abc import Sequence

from yaml.nodes import Node, SequenceNode

from bot.domain.orgchart import (
    AreaKind,
    Family,
)
from bot.orgio.issues import (
    AssignmentRecord,
)
from bot.orgio.staff import StaffReader
from bot.orgio.yamlnodes import (
    ASSIGNMENT_KEYS,
    FAMILY_DEFAULT_KEYS,
    Fields,
    Ref,
    line_of,
)


class AssignmentReader(StaffReader):
    def _read_assignments(self, node: Node) -> dict[tuple[str, str], str]:
        out: dict[tuple[str, str], str] = {}
        first_lines: dict[tuple[str, str], int] = {}
        for item in self._sequence(node, "assignments") or ():
            fields = self._fields(item, "assignments", ASSIGNMENT_KEYS)
            if fields is None:
                continue
            area_ref = self._ref(fields, "area", required=True)
            cadre_ref = self._ref(fields, "cadre", required=True)
            categories = self._assignment_categories(fields)
            self._add_assignment(area_ref, categories, cadre_ref, out, first_lines)
        return out

    def _read_assignment_records(
        self, records: Sequence[AssignmentRecord]
    ) -> dict[tuple[str, str], str]:
        out: dict[tuple[str, str], str] = {}
        first_lines: dict[tuple[str, str], int] = {}
        for record in records:
            line, source = record.line, record.source
            area = Ref(record.area, line, source) if record.area is not None else None
            cadre = Ref(record.cadre, line, source) if record.cadre is not None else None
            categories = [Ref(code, line, source) for code in record.categories]
            self._add_assignment(area, categories, cadre, out, first_lines)
        return out

    def _add_assignment(
        self,
        area_ref: Ref | None,
        categories: list[Ref],
        cadre_ref: Ref | None,
        out: dict[tuple[str, str], str],
        first_lines: dict[tuple[str, str], int],
    ) -> None:
        """Check one assignment entry and add its (area, category) pairs to ``out``."""
        ward: str | None = None
        area_ok = False
        if area_ref is not None:
            area = self._areas.get(area_ref.code)
            if area is None:
                self._unknown_at(area_ref, self._areas, "org.unknown_area", code=area_ref.code)
            elif area.kind is AreaKind.CITY:
                self._issue_at(area_ref, "org.assignment_above_ward", code=area_ref.code)
            else:
                ward, area_ok = area.ward, area.kind is not None
        cadre = self._check_cadre(cadre_ref, ward)

        for ref in categories:
            category = self._categories.get(ref.code)
            if category is None:
                self._unknown_at(ref, self._categories, "org.unknown_category", code=ref.code)
                continue
            if category.family is Family.OFFICIAL_CONDUCT:
                self._issue_at(ref, "org.conduct_not_assignable", what=ref.code)
                continue
            if area_ref is None or not area_ok:
                continue
            pair = (area_ref.code, ref.code)
            if pair in first_lines:
                self._issue_at(
                    ref,
                    "org.duplicate_assignment",
                    area=pair[0],
                    category=pair[1],
                    first_line=str(first_lines[pair]),
                )
                continue
            first_lines[pair] = ref.line
            if cadre is not None:
                out[pair] = cadre

    def _assignment_categories(self, fields: Fields) -> list[Ref]:
        if "category" in fields and "categories" in fields:
            self._issue(fields.key_line("categories"), "org.category_and_categories")
            return []
        single = fields.get("category")
        if single is not None:
            text = self._scalar_text(single, "category")
            return [Ref(text, line_of(single))] if text is not None else []
        several = fields.get("categories")
        if several is None:
            self._issue(fields.line, "org.missing_field", field="categories")
            return []
        refs = self._refs(several, "categories")
        if isinstance(several, SequenceNode) and not several.value:
            self._issue(line_of(several), "org.empty_list", field="categories")
        return refs

    def _read_family_defaults(self, node: Node) -> dict[tuple[str, Family], str]:
        out: dict[tuple[str, Family], str] = {}
        first_lines: dict[tuple[str, Family], int] = {}
        for item in self._sequence(node, "family_defaults") or ():
            fields = self._fields(item, "family_defaults", FAMILY_DEFAULT_KEYS)
            if fields is None:
                continue
            ward_ref = self._ref(fields, "ward", required=True)
            family_node = fields.get("family")
            family = None
            if family_node is None:
                self._issue(fields.line, "org.missing_field", field="family")
            else:
                family = self._enum_value(family_node, Family, "family", "org.unknown_family")
            cadre_ref = self._ref(fields, "cadre", required=True)

            ward = ward_ref.code if ward_ref is not None and self._ward_ref_ok(ward_ref) else None
            cadre = self._check_cadre(cadre_ref, ward)
            if family is Family.OFFICIAL_CONDUCT and family_node is not None:
                self._issue(line_of(family_node), "org.conduct_not_assignable", what=family.value)
                continue
            if ward is None or family is None or ward_ref is None:
                continue
            pair = (ward, family)
            if pair in first_lines:
                self._issue(
                    ward_ref.line,
                    "org.duplicate_family_default",
                    ward=ward,
                    family=family.value,
                    first_line=str(first_lines[pair]),
                )
                continue
            first_lines[pair] = ward_ref.line
            if cadre is not None:
                out[pair] = cadre
        return out

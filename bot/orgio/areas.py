"""The area tree: city, wards, zones and residential groups, each where it
may stand, with its polygon or centre."""

from __future__ import annotations

from yaml.nodes import Node, SequenceNode

from bot.domain.orgchart import (
    AreaKind,
)
from bot.domain.text import clean_text
from bot.orgio.fields import FieldReader
from bot.orgio.yamlnodes import (
    AREA_KEYS,
    REFER_TO_MAX,
    AreaDraft,
    Fields,
)


class AreaReader(FieldReader):
    def _read_areas(
        self, node: Node, where: str, *, parent: AreaDraft | None, ward: str | None, placed: bool
    ) -> None:
        """Walk one level of the tree in file order (so the chart is pre-order).

        ``placed`` is False below an area whose kind is unknown: placement
        rules cannot be judged there, and one bad ``kind`` should be one issue.
        """
        items = self._sequence(node, where)
        for item in items or ():
            fields = self._fields(item, where, AREA_KEYS)
            if fields is None:
                continue
            own = self._code(fields, "code")
            name = self._name(fields, "name", required=True)
            kind_node = fields.get("kind")
            kind = None
            if kind_node is None:
                self._issue(fields.line, "org.missing_field", field="kind")
            else:
                kind = self._enum_value(kind_node, AreaKind, "kind", "org.unknown_kind")
            code = own[0] if own else None
            label = code or "?"

            if placed and kind is not None:
                self._check_placement(fields.line, label, kind, parent, ward)
            area_ward = code if kind is AreaKind.WARD else ward

            polygon = centre = None
            polygon_node, centre_node = fields.get("polygon"), fields.get("centre")
            if polygon_node is not None:
                polygon = self._polygon(polygon_node, fields.key_line("polygon"))
            if centre_node is not None:
                centre = self._point(centre_node, "centre")
            if polygon_node is not None and centre_node is not None:
                self._issue(fields.key_line("centre"), "org.polygon_and_centre", code=label)

            leader = self._ref(fields, "leader", required=False)
            conduct_leader = self._ref(fields, "conduct_leader", required=False)
            if kind is not None and kind is not AreaKind.WARD:
                for key in ("leader", "conduct_leader"):
                    if key in fields:
                        self._issue(fields.key_line(key), "org.leader_not_on_ward", field=key)
            elif kind is AreaKind.WARD and fields.get("leader") is None:
                self._issue(fields.key_line("leader"), "org.ward_without_leader", ward=label)
            refer_to = self._refer_to(fields, kind)

            draft: AreaDraft | None = None
            if own is not None:
                first = self._areas.get(own[0])
                if first is not None:
                    self._issue(
                        own[1], "org.duplicate_area", code=own[0], first_line=str(first.line)
                    )
                else:
                    draft = AreaDraft(
                        code=own[0],
                        line=own[1],
                        name=name,
                        kind=kind,
                        parent=parent.code if parent else None,
                        ward=area_ward,
                        polygon=polygon,
                        centre=centre,
                        leader=leader,
                        conduct_leader=conduct_leader,
                        refer_to=refer_to,
                    )
                    self._areas[own[0]] = draft

            children = fields.get("children")
            if children is None:
                continue
            if kind is AreaKind.GROUP and isinstance(children, SequenceNode) and children.value:
                self._issue(fields.key_line("children"), "org.group_has_children", code=label)
            self._read_areas(
                children,
                "children",
                parent=draft,
                ward=area_ward,
                placed=placed and kind is not None and draft is not None,
            )

    def _refer_to(self, fields: Fields, kind: AreaKind | None) -> str | None:
        """A ward's advice for what is not in its remit: text, on a ward, of
        a length that fits the message it closes."""
        if "refer_to" not in fields:
            return None
        line = fields.key_line("refer_to")
        if kind is not None and kind is not AreaKind.WARD:
            self._issue(line, "org.leader_not_on_ward", field="refer_to")
            return None
        written = self._text(fields, "refer_to", required=False)
        value = clean_text(written or "")
        if len(value) > REFER_TO_MAX:
            self._issue(line, "org.refer_to_too_long", limit=str(REFER_TO_MAX))
            return None
        return value or None

    def _check_placement(
        self,
        line: int,
        code: str,
        kind: AreaKind,
        parent: AreaDraft | None,
        ward: str | None,
    ) -> None:
        parent_kind = parent.kind if parent else None
        inside_ward = ward is not None or parent_kind in (AreaKind.ZONE, AreaKind.GROUP)
        if kind is AreaKind.CITY and inside_ward:
            self._issue(line, "org.city_below_ward", code=code)
        elif kind is AreaKind.WARD and ward is not None:
            self._issue(line, "org.ward_in_ward", code=code, parent=ward)
        elif kind is AreaKind.WARD and parent_kind not in (None, AreaKind.CITY):
            self._issue(line, "org.ward_not_under_city", code=code)
        elif kind in (AreaKind.ZONE, AreaKind.GROUP) and ward is None:
            self._issue(line, "org.not_under_ward", code=code, kind=kind.value)

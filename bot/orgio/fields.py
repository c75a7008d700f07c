"""Reading one YAML node at a time: the fields of a mapping, a sequence, a
scalar as text, a code, a reference, numbers, flags, points and polygons
— every mistake an issue pinned to its line, never an exception."""

from __future__ import annotations

import math
from collections.abc import Iterable

from yaml.constructor import SafeConstructor
from yaml.error import MarkedYAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from bot.domain.channels import ZALO, valid_account_id
from bot.domain.orgchart import (
    CODE_RE,
    Category,
    GeoPoint,
)
from bot.domain.text import clean_name
from bot.orgio.issues import (
    OrgIssue,
    bare_code,
)
from bot.orgio.yamlnodes import (
    BOOL_TAG,
    FLOAT_TAG,
    INT_TAG,
    AliasRefused,
    AreaDraft,
    EnumT,
    Fields,
    Loader,
    PolicyDraft,
    Ref,
    StaffDraft,
    line_of,
    suggest,
)


class FieldReader:
    """One pass over one file; collects issues instead of stopping at the first."""

    def __init__(self) -> None:
        self.issues: list[OrgIssue] = []
        self._constructor = SafeConstructor()
        self._areas: dict[str, AreaDraft] = {}
        self._categories: dict[str, Category] = {}
        self._category_lines: dict[str, int] = {}
        # A ward's word for a category, folded -> (the category, its line).
        self._word_lines: dict[str, tuple[str, int]] = {}
        self._staff: dict[str, StaffDraft] = {}
        self._telegram_ids: dict[int, str] = {}
        self._zalo_ids: dict[str, str] = {}
        self._defaults = PolicyDraft()
        # Lines of every ``to: city_leaders``, checked once the staff is known.
        self._city_targets: list[int] = []

    def _issue(self, line: int, key: str, /, **params: str) -> None:
        self.issues.append(OrgIssue(line, key, dict(params)))

    def _issue_at(self, ref: Ref, key: str, /, **params: str) -> None:
        """An issue on the line (and in the file) where ``ref`` was written."""
        self.issues.append(OrgIssue(ref.line, key, dict(params), ref.source))

    def _unknown_at(self, ref: Ref, known: Iterable[str], key: str, /, **params: str) -> None:
        """``ref`` names nothing: ``key``, unless a code in ``known`` differs
        from it only in case ("LD-HH-CT" in a spreadsheet, "ld-hh-ct" in the
        YAML) — then the code to write, which "no such code" would hide."""
        folded = ref.code.casefold()
        twin = next((code for code in known if code.casefold() == folded), None)
        if twin is not None:
            self._issue_at(ref, "org.wrong_case", code=ref.code, match=twin)
        else:
            self._issue_at(ref, key, **params)

    def compose(self, text: str) -> Node | None:
        loader: Loader | None = None
        try:
            # The reader checks for unprintable characters as soon as it is built.
            loader = Loader(text)
            root = loader.get_single_node()
        except AliasRefused as exc:
            self._issue(exc.problem_mark.line + 1 if exc.problem_mark else 0, "org.yaml_alias")
            return None
        except MarkedYAMLError as exc:
            if exc.context == "while scanning a simple key" and exc.context_mark is not None:
                # `resolve_days 5`: PyYAML notices on the next line; the
                # colon is missing on the line the key started.
                self._issue(exc.context_mark.line + 1, "org.yaml_missing_colon")
                return None
            mark = exc.problem_mark or exc.context_mark
            if exc.context_mark is not None and (mark is None or mark.index >= len(text)):
                # "Unexpected end of stream": the unclosed quote or bracket is
                # where the clerk has to look, not the end of the file.
                mark = exc.context_mark
            problem = exc.problem or exc.context or ""
            self._issue(mark.line + 1 if mark else 0, "org.yaml_syntax", problem=problem)
            return None
        except ReaderError as exc:
            position = exc.position if isinstance(exc.position, int) else 0
            line = text[:position].count("\n") + 1
            self._issue(line, "org.yaml_syntax", problem=str(exc.reason))
            return None
        except RecursionError:
            self._issue(0, "org.yaml_syntax", problem="nesting too deep")
            return None
        finally:
            if loader is not None:
                loader.dispose()
        if root is None:
            self._issue(1, "org.empty_file")
        return root

    def _fields(self, node: Node, where: str, allowed: tuple[str, ...]) -> Fields | None:
        if not isinstance(node, MappingNode):
            self._issue(line_of(node), "org.expected_mapping", field=where)
            return None
        return self._mapping_fields(node, allowed)

    def _mapping_fields(self, node: MappingNode, allowed: tuple[str, ...]) -> Fields:
        entries: dict[str, tuple[ScalarNode, Node]] = {}
        present = {str(k.value) for k, _ in node.value if isinstance(k, ScalarNode)}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._issue(line_of(key_node), "org.bad_key")
                continue
            key = str(key_node.value)
            if key in entries:
                self._issue(line_of(key_node), "org.duplicate_key", key=key)
                continue
            if key not in allowed:
                suggestion = suggest(key, allowed)
                # "nmae" next to a real "name" is not a typo of it: list the keys.
                if suggestion is not None and suggestion not in present:
                    self._issue(
                        line_of(key_node),
                        "org.unknown_key_did_you_mean",
                        key=key,
                        suggestion=suggestion,
                    )
                else:
                    self._issue(
                        line_of(key_node), "org.unknown_key", key=key, allowed=", ".join(allowed)
                    )
                continue
            entries[key] = (key_node, value_node)
        return Fields(node, entries)

    def _sequence(self, node: Node, where: str, *, single_ok: bool = False) -> list[Node] | None:
        """Items of a list; a lone scalar counts as a one-item list where clerks
        naturally write ``roles: cadre``."""
        if isinstance(node, SequenceNode):
            return list(node.value)
        if single_ok and isinstance(node, ScalarNode):
            return [node]
        self._issue(line_of(node), "org.expected_list", field=where)
        return None

    def _scalar_text(self, node: Node, where: str) -> str | None:
        if not isinstance(node, ScalarNode):
            self._issue(line_of(node), "org.expected_text", field=where)
            return None
        # The raw text, so codes keep leading zeros and "yes"/"1e3" stay as typed.
        text = str(node.value).strip()
        if not text:
            self._issue(line_of(node), "org.missing_field", field=where)
            return None
        return text

    def _code_text(self, node: Node, where: str) -> str | None:
        """A code or reference as written, less invisible characters (`bare_code`)."""
        text = self._scalar_text(node, where)
        if text is None:
            return None
        code = bare_code(text)
        if not code:
            self._issue(line_of(node), "org.missing_field", field=where)
            return None
        return code

    def _text(self, fields: Fields, key: str, *, required: bool) -> str | None:
        node = fields.get(key)
        if node is None:
            if required:
                self._issue(fields.line, "org.missing_field", field=key)
            return None
        return self._scalar_text(node, key)

    def _name(self, fields: Fields, key: str, *, required: bool) -> str | None:
        """A name staff and residents will read (a member's, an area's, a
        category's): on one line, without the control, bidi or invisible
        characters that could reorder or forge a card's lines; one made of
        nothing visible is refused on its line."""
        written = self._text(fields, key, required=required)
        if written is None:
            return None
        name = clean_name(written)
        if not name:
            node = fields.get(key)
            self._issue(
                line_of(node) if node is not None else fields.line, "org.invisible_name", field=key
            )
            return None
        return name

    def _code(self, fields: Fields, key: str) -> tuple[str, int] | None:
        """A required own code (area, category, staff id) in the shared format.

        A badly formed code is still returned so references to it do not pile
        up "unknown" issues on top of the one that matters.
        """
        node = fields.get(key)
        if node is None:
            self._issue(fields.line, "org.missing_field", field=key)
            return None
        text = self._code_text(node, key)
        if text is None:
            return None
        if not CODE_RE.match(text):
            self._issue(line_of(node), "org.bad_code", field=key, code=text)
        return text, line_of(node)

    def _ref(self, fields: Fields, key: str, *, required: bool) -> Ref | None:
        node = fields.get(key)
        if node is None:
            if required:
                self._issue(fields.line, "org.missing_field", field=key)
            return None
        text = self._code_text(node, key)
        return Ref(text, line_of(node)) if text is not None else None

    def _refs(self, node: Node, where: str) -> list[Ref]:
        items = self._sequence(node, where, single_ok=True)
        if items is None:
            return []
        refs: list[Ref] = []
        for item in items:
            text = self._code_text(item, where)
            if text is not None:
                refs.append(Ref(text, line_of(item)))
        return refs

    def _positive_int(self, node: Node, key: str) -> int | None:
        if isinstance(node, ScalarNode) and node.tag == INT_TAG:
            value = self._constructor.construct_yaml_int(node)
            if value > 0:
                return value
        raw = str(node.value) if isinstance(node, ScalarNode) else "…"
        self._issue(line_of(node), key, value=raw)
        return None

    def _zalo_id(self, node: Node) -> str | None:
        """An opaque Zalo id as the clerk wrote it (digits are kept as
        written, leading zeros too), else an issue."""
        raw = str(node.value).strip() if isinstance(node, ScalarNode) else "…"
        if valid_account_id(ZALO, raw):
            return raw
        self._issue(line_of(node), "org.bad_zalo_id", value=raw)
        return None

    def _number(self, node: Node) -> float | None:
        if isinstance(node, ScalarNode):
            if node.tag == INT_TAG:
                return float(self._constructor.construct_yaml_int(node))
            if node.tag == FLOAT_TAG:
                return self._constructor.construct_yaml_float(node)
        return None

    def _amount(self, node: Node, key: str, *, zero_ok: bool) -> float | None:
        """A finite number > 0 (or >= 0 with ``zero_ok``), else an issue.

        ``1:30`` is refused although YAML 1.1 reads it as 90 (base 60): a
        clerk who writes it means an hour and a half, not ninety.
        """
        value = self._number(node)
        raw = str(node.value) if isinstance(node, ScalarNode) else "…"
        if (
            value is not None
            and ":" not in raw
            and math.isfinite(value)
            and (value > 0 or (zero_ok and value == 0))
        ):
            return value
        self._issue(line_of(node), key, value=raw)
        return None

    def _count(self, node: Node, key: str) -> int | None:
        """A whole number >= 0, else an issue."""
        raw = str(node.value) if isinstance(node, ScalarNode) else "…"
        if isinstance(node, ScalarNode) and node.tag == INT_TAG and ":" not in raw:
            value = self._constructor.construct_yaml_int(node)
            if value >= 0:
                return value
        self._issue(line_of(node), key, value=raw)
        return None

    def _flag(self, node: Node, key: str) -> bool | None:
        """A YAML boolean (true/false, yes/no, on/off), else an issue."""
        if isinstance(node, ScalarNode) and node.tag == BOOL_TAG:
            return self._constructor.construct_yaml_bool(node)
        raw = str(node.value) if isinstance(node, ScalarNode) else "…"
        self._issue(line_of(node), key, value=raw)
        return None

    def _point(self, node: Node, where: str) -> GeoPoint | None:
        # GeoJSON allows a third number (altitude); it is of no use here.
        if isinstance(node, SequenceNode) and len(node.value) in (2, 3):
            lon, lat = self._number(node.value[0]), self._number(node.value[1])
            if lon is not None and lat is not None:
                if (
                    math.isfinite(lon)
                    and math.isfinite(lat)
                    and -180 <= lon <= 180
                    and -90 <= lat <= 90
                ):
                    return GeoPoint(lon, lat)
                self._issue(
                    line_of(node),
                    "org.coordinate_out_of_range",
                    field=where,
                    lon=str(node.value[0].value),
                    lat=str(node.value[1].value),
                )
                return None
        self._issue(line_of(node), "org.bad_point", field=where)
        return None

    def _polygon(self, node: Node, line: int) -> tuple[GeoPoint, ...] | None:
        """The ring at ``node``; ``line`` is that of the ``polygon:`` key, which
        is where a clerk looks when the points are written one per line."""
        items = self._sequence(node, "polygon")
        if items is None:
            return None
        # GeoJSON Polygon coordinates nest rings: take the outer ring, holes are
        # irrelevant for deciding which group a point falls in.
        if (
            items
            and isinstance(items[0], SequenceNode)
            and items[0].value
            and isinstance(items[0].value[0], SequenceNode)
        ):
            items = list(items[0].value)
        points: list[GeoPoint] = []
        valid = True
        for item in items:
            point = self._point(item, "polygon")
            if point is None:
                valid = False
            else:
                points.append(point)
        if not valid:
            return None
        if len(points) > 1 and points[0] == points[-1]:
            points.pop()  # the closing point is optional
        if len(set(points)) < 3:
            self._issue(line, "org.polygon_too_few_points", count=str(len(set(points))))
            return None
        return tuple(points)

    def _enum_value(self, node: Node, enum: type[EnumT], where: str, key: str) -> EnumT | None:
        text = self._scalar_text(node, where)
        if text is None:
            return None
        try:
            return enum(text.lower())
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            self._issue(line_of(node), key, **{where: text, "allowed": allowed})
            return None

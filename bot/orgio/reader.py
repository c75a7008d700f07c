"""Read the org chart a ward office writes by hand in YAML.

The file is edited by clerks, not programmers, so a bad file must come back
with every mistake at once, each pinned to its line and named by a catalogue
key the CLI can render in the operator's language.  Nothing is half-loaded:
either the whole chart is valid or the caller gets only the list of issues,
because a partly loaded chart would leave complaints without an owner.

PyYAML's composer is used instead of ``yaml.load`` so that every value keeps
the line it came from; nothing is ever constructed from tags in the file.
Aliases (``*name``) are refused: they would make one node appear at two
places (and can blow up in size), and an org chart has no need for them.

The schema is documented at the top of ``examples/org.yaml``.

A ward office may keep its staff and assignments in a spreadsheet instead:
``load_org_file(path, staff_csv=..., assignments_csv=...)`` reads those
sections from CSV files (``bot/orgio/csvfiles.py``, documented in ``docs/org-csv.md``)
and runs every check of this module on their rows, each issue naming the
file it is in (:attr:`OrgIssue.source`).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import yaml
from yaml.composer import ComposerError
from yaml.constructor import SafeConstructor
from yaml.error import MarkedYAMLError
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

from bot.domain.channels import ZALO, valid_account_id
from bot.domain.orgchart import (
    CODE_RE,
    DEFAULT_ACKNOWLEDGE_HOURS,
    DEFAULT_ESCALATION,
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

__all__ = [
    "AssignmentRecord",
    "OrgChartInvalid",
    "OrgIssue",
    "StaffRecord",
    "load_org_file",
    "parse_org",
    "read_text_file",
]

_NULL_TAG = "tag:yaml.org,2002:null"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_BOOL_TAG = "tag:yaml.org,2002:bool"

_TOP_KEYS = ("areas", "categories", "staff", "assignments", "family_defaults", "defaults")
_AREA_KEYS = ("code", "name", "kind", "children", "leader", "conduct_leader", "polygon", "centre")
# The knobs of the complaint's clocks: set in ``defaults:`` or per category.
_POLICY_KEYS = ("acknowledge_hours", "escalation", "repeat")
_CATEGORY_KEYS = (
    "code",
    "name",
    "name_en",
    "family",
    "resolve_days",
    "urgent",
    "templates",
    *_POLICY_KEYS,
)
_TEMPLATE_KEYS = ("acknowledge", "resolve")
TEMPLATE_MAX = 8
TEMPLATE_LENGTH = 200
_LEVEL_KEYS = ("after_days", "to")
_STAFF_KEYS = ("id", "name", "roles", "wards", "telegram_id", "zalo_id", "active")
_ASSIGNMENT_KEYS = ("area", "category", "categories", "cadre")
_FAMILY_DEFAULT_KEYS = ("ward", "family", "cadre")

# Roles that only make sense with at least one ward to serve.
_WARD_BOUND_ROLES = frozenset({Role.CADRE, Role.WARD_LEADER})

_E = TypeVar("_E", AreaKind, Family, Role, EscalationTarget)


@dataclass(frozen=True)
class OrgIssue:
    """One mistake; ``line`` is 1-based, 0 when no line applies.

    ``source`` names the file the line is in when that is not the org-chart
    YAML itself: the path of a staff or assignments CSV as the caller gave it
    (``""`` for the YAML, so a caller that reads only YAML sees no change).
    """

    line: int
    key: str
    params: dict[str, str] = field(default_factory=dict)
    source: str = ""


class OrgChartInvalid(Exception):
    """The chart cannot be used; ``issues`` lists every mistake, file by file
    (the YAML first, then the others in the order of ``sources``, then any
    other source by name) and by line within a file."""

    def __init__(
        self, issues: list[OrgIssue], *, source: str = "<org>", sources: Sequence[str] = ()
    ) -> None:
        rank = {name: index for index, name in enumerate(sources) if name}

        def order(issue: OrgIssue) -> tuple[bool, int, str, int]:
            return (bool(issue.source), rank.get(issue.source, len(rank)), issue.source, issue.line)

        self.issues = sorted(issues, key=order)
        self.source = source
        super().__init__(self._summary())

    def _summary(self) -> str:
        # Only for logs and tracebacks; operators get catalogue text from the CLI.
        lines = [f"{self.source}: {len(self.issues)} problem(s) in the org chart"]
        for issue in self.issues:
            params = ", ".join(f"{k}={v!r}" for k, v in issue.params.items())
            where = f"{issue.source} line" if issue.source else "line"
            lines.append(f"  {where} {issue.line}: {issue.key} {params}".rstrip())
        return "\n".join(lines)


@dataclass(frozen=True)
class StaffRecord:
    """One staff member read from another source than the YAML (a CSV row),
    already checked for its shape; the reader checks it against the rest of
    the chart.  ``id`` may be a badly formed code (already an issue), so that
    references to it do not pile up more issues."""

    source: str
    line: int
    id: str
    name: str | None
    roles: frozenset[Role]
    wards: tuple[str, ...] = ()
    telegram_id: int | None = None
    zalo_id: str | None = None


@dataclass(frozen=True)
class AssignmentRecord:
    """One assignment row read from another source than the YAML; a value
    that was missing is None (already an issue), so the rest of the row is
    still checked."""

    source: str
    line: int
    area: str | None
    categories: tuple[str, ...]
    cadre: str | None


def read_text_file(path: Path, *, source: str = "") -> str:
    """The text of ``path``, else :class:`OrgChartInvalid` with the one issue.

    Unreadable bytes are issues too, not tracebacks.  ``source`` is what the
    issue's :attr:`OrgIssue.source` says (``""`` for the org-chart YAML).
    """
    shown = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        params = {"path": shown, "reason": exc.strerror or ""}
        issue = OrgIssue(0, "org.file_unreadable", params, source)
        raise OrgChartInvalid([issue], source=shown) from exc
    try:
        # utf-8-sig: Notepad and Excel on Windows like to start the file with a BOM.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        issue = OrgIssue(line, "org.file_not_utf8", {"path": shown}, source)
        raise OrgChartInvalid([issue], source=shown) from exc


def load_org_file(
    path: Path, *, staff_csv: Path | None = None, assignments_csv: Path | None = None
) -> OrgChart:
    """Read and parse the org chart at ``path``.

    ``staff_csv`` and ``assignments_csv``, when given, replace the YAML's
    ``staff:`` and ``assignments:`` sections (which are then not read at all,
    and may be left out).  Issues in the CSV files carry the file's path as
    given in :attr:`OrgIssue.source`.  When a file cannot be read, or a CSV's
    rows cannot be told apart (no header, a required column missing, broken
    quotes), only the mistakes found in the files themselves are reported:
    checking the chart without that file's rows would bury the mistake under
    its consequences ("unknown staff" wherever someone in it is named).
    """
    source = str(path)
    csv_files = [p for p in (staff_csv, assignments_csv) if p is not None]
    sources = ["", *(str(p) for p in csv_files)]
    if not csv_files:
        return parse_org(read_text_file(path), source=source)

    # Imported here: bot.orgcsv builds on this module's records and issues.
    from bot.orgio.csvfiles import read_assignments_csv, read_staff_csv

    issues: list[OrgIssue] = []
    text: str | None = None
    try:
        text = read_text_file(path)
    except OrgChartInvalid as invalid:
        issues += invalid.issues
    staff: list[StaffRecord] | None = None
    assignments: list[AssignmentRecord] | None = None
    usable = True
    if staff_csv is not None:
        staff_read = read_staff_csv(staff_csv)
        staff, usable = staff_read.records, usable and staff_read.usable
        issues += staff_read.issues
    if assignments_csv is not None:
        assignments_read = read_assignments_csv(assignments_csv)
        assignments, usable = assignments_read.records, usable and assignments_read.usable
        issues += assignments_read.issues
    if text is None or not usable:
        raise OrgChartInvalid(issues, source=source, sources=sources)
    try:
        chart = parse_org(text, source=source, staff=staff, assignments=assignments)
    except OrgChartInvalid as invalid:
        # The rows with a mistake are still checked against the chart.
        raise OrgChartInvalid([*issues, *invalid.issues], source=source, sources=sources) from None
    if issues:
        raise OrgChartInvalid(issues, source=source, sources=sources)
    return chart


def parse_org(
    text: str,
    *,
    source: str = "<org>",
    staff: Sequence[StaffRecord] | None = None,
    assignments: Sequence[AssignmentRecord] | None = None,
) -> OrgChart:
    """The chart in ``text``, or :class:`OrgChartInvalid` listing every mistake.

    All issues are collected before raising, so a clerk can fix the whole
    file in one sitting instead of one error per run.  ``staff`` and
    ``assignments``, when given, replace the YAML's sections of those names
    (records from CSV files: see :func:`load_org_file`).
    """
    reader = _Reader()
    root = reader.compose(text)
    chart = reader.read(root, staff=staff, assignments=assignments) if root is not None else None
    if reader.issues or chart is None:
        raise OrgChartInvalid(reader.issues, source=source)
    return chart


# --------------------------------------------------------------------------- YAML


class _AliasRefused(ComposerError):
    pass


class _Loader(yaml.SafeLoader):
    """A safe loader that refuses aliases, so every node has exactly one place."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            # check_event has just parsed the alias into current_event.
            mark = self.current_event.start_mark
            raise _AliasRefused(None, None, "aliases are not allowed", mark)
        return super().compose_node(parent, index)


def _line(node: Node) -> int:
    mark = node.start_mark
    return mark.line + 1 if mark is not None else 0


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


def _suggest(word: str, allowed: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(allowed), n=1, cutoff=0.6)
    return matches[0] if matches else None


# ------------------------------------------------------------------------ drafts


@dataclass(frozen=True)
class _Ref:
    """A code as written somewhere, with its line (and file, when not the
    YAML), to be resolved later."""

    code: str
    line: int
    source: str = ""


@dataclass(frozen=True)
class _AreaDraft:
    """An area as read, kept even when incomplete so that the rest of the
    file can still be checked against it."""

    code: str
    line: int
    name: str | None
    kind: AreaKind | None
    parent: str | None
    ward: str | None  # the nearest ward at or above this area, if known
    polygon: tuple[GeoPoint, ...] | None
    centre: GeoPoint | None
    leader: _Ref | None
    conduct_leader: _Ref | None


@dataclass(frozen=True)
class _StaffDraft:
    id: str
    line: int
    name: str | None
    roles: frozenset[Role]
    wards: list[_Ref]
    telegram_id: int | None
    active: bool = True
    zalo_id: str | None = None


@dataclass(frozen=True)
class _Policy:
    """The clock knobs one ``defaults:`` block or one category writes.

    ``written`` names the keys that have a value, valid or not: a key written
    with a mistake is not inherited from the defaults (the mistake is already
    an issue), and the values of such keys are None.
    """

    written: frozenset[str] = frozenset()
    acknowledge_hours: float | None = None
    escalation: tuple[EscalationLevel, ...] | None = None
    repeat: int | None = None


class _Fields:
    """The entries of one YAML mapping, checked against the keys it may hold."""

    def __init__(self, node: MappingNode, entries: dict[str, tuple[ScalarNode, Node]]) -> None:
        self.node = node
        self.line = _line(node)
        self._entries = entries

    def get(self, key: str) -> Node | None:
        """The value node; an empty value (``name:``) counts as absent, since
        that is how clerks leave a field they have not filled in yet."""
        entry = self._entries.get(key)
        if entry is None or _is_null(entry[1]):
            return None
        return entry[1]

    def key_line(self, key: str) -> int:
        entry = self._entries.get(key)
        return _line(entry[0]) if entry is not None else self.line

    def __contains__(self, key: str) -> bool:
        return key in self._entries


# ------------------------------------------------------------------------ reader


class _Reader:
    """One pass over one file; collects issues instead of stopping at the first."""

    def __init__(self) -> None:
        self.issues: list[OrgIssue] = []
        self._constructor = SafeConstructor()
        self._areas: dict[str, _AreaDraft] = {}
        self._categories: dict[str, Category] = {}
        self._category_lines: dict[str, int] = {}
        self._staff: dict[str, _StaffDraft] = {}
        self._telegram_ids: dict[int, str] = {}
        self._zalo_ids: dict[str, str] = {}
        self._defaults = _Policy()
        # Lines of every ``to: city_leaders``, checked once the staff is known.
        self._city_targets: list[int] = []

    def _issue(self, line: int, key: str, /, **params: str) -> None:
        self.issues.append(OrgIssue(line, key, dict(params)))

    def _issue_at(self, ref: _Ref, key: str, /, **params: str) -> None:
        """An issue on the line (and in the file) where ``ref`` was written."""
        self.issues.append(OrgIssue(ref.line, key, dict(params), ref.source))

    # ---------------------------------------------------------------- syntax

    def compose(self, text: str) -> Node | None:
        loader: _Loader | None = None
        try:
            # The reader checks for unprintable characters as soon as it is built.
            loader = _Loader(text)
            root = loader.get_single_node()
        except _AliasRefused as exc:
            self._issue(exc.problem_mark.line + 1 if exc.problem_mark else 0, "org.yaml_alias")
            return None
        except MarkedYAMLError as exc:
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

    # -------------------------------------------------------------- plumbing

    def _fields(self, node: Node, where: str, allowed: tuple[str, ...]) -> _Fields | None:
        if not isinstance(node, MappingNode):
            self._issue(_line(node), "org.expected_mapping", field=where)
            return None
        return self._mapping_fields(node, allowed)

    def _mapping_fields(self, node: MappingNode, allowed: tuple[str, ...]) -> _Fields:
        entries: dict[str, tuple[ScalarNode, Node]] = {}
        present = {str(k.value) for k, _ in node.value if isinstance(k, ScalarNode)}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._issue(_line(key_node), "org.bad_key")
                continue
            key = str(key_node.value)
            if key in entries:
                self._issue(_line(key_node), "org.duplicate_key", key=key)
                continue
            if key not in allowed:
                suggestion = _suggest(key, allowed)
                # "nmae" next to a real "name" is not a typo of it: list the keys.
                if suggestion is not None and suggestion not in present:
                    self._issue(
                        _line(key_node),
                        "org.unknown_key_did_you_mean",
                        key=key,
                        suggestion=suggestion,
                    )
                else:
                    self._issue(
                        _line(key_node), "org.unknown_key", key=key, allowed=", ".join(allowed)
                    )
                continue
            entries[key] = (key_node, value_node)
        return _Fields(node, entries)

    def _sequence(self, node: Node, where: str, *, single_ok: bool = False) -> list[Node] | None:
        """Items of a list; a lone scalar counts as a one-item list where clerks
        naturally write ``roles: cadre``."""
        if isinstance(node, SequenceNode):
            return list(node.value)
        if single_ok and isinstance(node, ScalarNode):
            return [node]
        self._issue(_line(node), "org.expected_list", field=where)
        return None

    def _scalar_text(self, node: Node, where: str) -> str | None:
        if not isinstance(node, ScalarNode):
            self._issue(_line(node), "org.expected_text", field=where)
            return None
        # The raw text, so codes keep leading zeros and "yes"/"1e3" stay as typed.
        text = str(node.value).strip()
        if not text:
            self._issue(_line(node), "org.missing_field", field=where)
            return None
        return text

    def _text(self, fields: _Fields, key: str, *, required: bool) -> str | None:
        node = fields.get(key)
        if node is None:
            if required:
                self._issue(fields.line, "org.missing_field", field=key)
            return None
        return self._scalar_text(node, key)

    def _code(self, fields: _Fields, key: str) -> tuple[str, int] | None:
        """A required own code (area, category, staff id) in the shared format.

        A badly formed code is still returned so references to it do not pile
        up "unknown" issues on top of the one that matters.
        """
        node = fields.get(key)
        if node is None:
            self._issue(fields.line, "org.missing_field", field=key)
            return None
        text = self._scalar_text(node, key)
        if text is None:
            return None
        if not CODE_RE.match(text):
            self._issue(_line(node), "org.bad_code", field=key, code=text)
        return text, _line(node)

    def _ref(self, fields: _Fields, key: str, *, required: bool) -> _Ref | None:
        node = fields.get(key)
        if node is None:
            if required:
                self._issue(fields.line, "org.missing_field", field=key)
            return None
        text = self._scalar_text(node, key)
        return _Ref(text, _line(node)) if text is not None else None

    def _refs(self, node: Node, where: str) -> list[_Ref]:
        items = self._sequence(node, where, single_ok=True)
        if items is None:
            return []
        refs: list[_Ref] = []
        for item in items:
            text = self._scalar_text(item, where)
            if text is not None:
                refs.append(_Ref(text, _line(item)))
        return refs

    def _positive_int(self, node: Node, key: str) -> int | None:
        if isinstance(node, ScalarNode) and node.tag == _INT_TAG:
            value = self._constructor.construct_yaml_int(node)
            if value > 0:
                return value
        raw = str(node.value) if isinstance(node, ScalarNode) else "…"
        self._issue(_line(node), key, value=raw)
        return None

    def _zalo_id(self, node: Node) -> str | None:
        """An opaque Zalo id as the clerk wrote it (digits are kept as
        written, leading zeros too), else an issue."""
        raw = str(node.value).strip() if isinstance(node, ScalarNode) else "…"
        if valid_account_id(ZALO, raw):
            return raw
        self._issue(_line(node), "org.bad_zalo_id", value=raw)
        return None

    def _number(self, node: Node) -> float | None:
        if isinstance(node, ScalarNode):
            if node.tag == _INT_TAG:
                return float(self._constructor.construct_yaml_int(node))
            if node.tag == _FLOAT_TAG:
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
        self._issue(_line(node), key, value=raw)
        return None

    def _count(self, node: Node, key: str) -> int | None:
        """A whole number >= 0, else an issue."""
        raw = str(node.value) if isinstance(node, ScalarNode) else "…"
        if isinstance(node, ScalarNode) and node.tag == _INT_TAG and ":" not in raw:
            value = self._constructor.construct_yaml_int(node)
            if value >= 0:
                return value
        self._issue(_line(node), key, value=raw)
        return None

    def _flag(self, node: Node, key: str) -> bool | None:
        """A YAML boolean (true/false, yes/no, on/off), else an issue."""
        if isinstance(node, ScalarNode) and node.tag == _BOOL_TAG:
            return self._constructor.construct_yaml_bool(node)
        raw = str(node.value) if isinstance(node, ScalarNode) else "…"
        self._issue(_line(node), key, value=raw)
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
                    _line(node),
                    "org.coordinate_out_of_range",
                    field=where,
                    lon=str(node.value[0].value),
                    lat=str(node.value[1].value),
                )
                return None
        self._issue(_line(node), "org.bad_point", field=where)
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

    def _enum_value(self, node: Node, enum: type[_E], where: str, key: str) -> _E | None:
        text = self._scalar_text(node, where)
        if text is None:
            return None
        try:
            return enum(text.lower())
        except ValueError:
            allowed = ", ".join(member.value for member in enum)
            self._issue(_line(node), key, **{where: text, "allowed": allowed})
            return None

    # ------------------------------------------------------------- sections

    def read(
        self,
        root: Node,
        *,
        staff: Sequence[StaffRecord] | None = None,
        assignments: Sequence[AssignmentRecord] | None = None,
    ) -> OrgChart | None:
        """The chart, or None when anything is wrong.  ``staff`` and
        ``assignments`` replace the file's sections of those names."""
        if not isinstance(root, MappingNode):
            self._issue(_line(root), "org.not_a_mapping")
            return None
        top = self._mapping_fields(root, _TOP_KEYS)

        areas_node = top.get("areas")
        if areas_node is not None:
            self._read_areas(areas_node, "areas", parent=None, ward=None, placed=True)
        if areas_node is None or (isinstance(areas_node, SequenceNode) and not areas_node.value):
            self._issue(top.key_line("areas"), "org.no_areas")

        defaults_node = top.get("defaults")
        if defaults_node is not None:
            self._read_defaults(defaults_node)

        categories_node = top.get("categories")
        if categories_node is not None:
            self._read_categories(categories_node)
        if categories_node is None or (
            isinstance(categories_node, SequenceNode) and not categories_node.value
        ):
            self._issue(top.key_line("categories"), "org.no_categories")

        staff_node = top.get("staff")
        if staff is not None:
            self._read_staff_records(staff)
        elif staff_node is not None:
            self._read_staff(staff_node)

        self._check_city_targets()
        self._check_staff_wards()
        wards = self._check_ward_leaders()
        assignments_node = top.get("assignments")
        routing: dict[tuple[str, str], str] = {}
        if assignments is not None:
            routing = self._read_assignment_records(assignments)
        elif assignments_node is not None:
            routing = self._read_assignments(assignments_node)
        family_defaults_node = top.get("family_defaults")
        family_defaults = {}
        if family_defaults_node is not None:
            family_defaults = self._read_family_defaults(family_defaults_node)

        if self.issues:
            return None
        return OrgChart(
            areas={
                a.code: Area(
                    code=a.code,
                    name=a.name or "",
                    kind=a.kind or AreaKind.GROUP,
                    parent=a.parent,
                    polygon=a.polygon,
                    centre=a.centre,
                )
                for a in self._areas.values()
            },
            categories=dict(self._categories),
            staff={
                s.id: StaffMember(
                    id=s.id,
                    name=s.name or "",
                    roles=s.roles,
                    wards=tuple(dict.fromkeys(ref.code for ref in s.wards)),
                    telegram_id=s.telegram_id,
                    active=s.active,
                    zalo_id=s.zalo_id,
                )
                for s in self._staff.values()
            },
            assignments=routing,
            family_defaults=family_defaults,
            wards=wards,
        )

    def _read_areas(
        self, node: Node, where: str, *, parent: _AreaDraft | None, ward: str | None, placed: bool
    ) -> None:
        """Walk one level of the tree in file order (so the chart is pre-order).

        ``placed`` is False below an area whose kind is unknown: placement
        rules cannot be judged there, and one bad ``kind`` should be one issue.
        """
        items = self._sequence(node, where)
        for item in items or ():
            fields = self._fields(item, where, _AREA_KEYS)
            if fields is None:
                continue
            own = self._code(fields, "code")
            name = self._text(fields, "name", required=True)
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

            draft: _AreaDraft | None = None
            if own is not None:
                first = self._areas.get(own[0])
                if first is not None:
                    self._issue(
                        own[1], "org.duplicate_area", code=own[0], first_line=str(first.line)
                    )
                else:
                    draft = _AreaDraft(
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

    def _check_placement(
        self,
        line: int,
        code: str,
        kind: AreaKind,
        parent: _AreaDraft | None,
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

    def _read_categories(self, node: Node) -> None:
        for item in self._sequence(node, "categories") or ():
            fields = self._fields(item, "categories", _CATEGORY_KEYS)
            if fields is None:
                continue
            own = self._code(fields, "code")
            name = self._text(fields, "name", required=True)
            name_en = self._text(fields, "name_en", required=False) or ""
            family_node = fields.get("family")
            family = None
            if family_node is None:
                self._issue(fields.line, "org.missing_field", field="family")
            else:
                family = self._enum_value(family_node, Family, "family", "org.unknown_family")
            days_node = fields.get("resolve_days")
            days = None
            if days_node is None:
                self._issue(fields.line, "org.missing_field", field="resolve_days")
            else:
                days = self._amount(days_node, "org.bad_resolve_days", zero_ok=False)
            urgent_node = fields.get("urgent")
            urgent = None
            if urgent_node is not None:
                urgent = self._flag(urgent_node, "org.bad_urgent")
            policy = self._read_policy(fields)
            acknowledge_hours, escalation, repeat = self._inherit(policy, fields)
            templates = self._read_templates(fields.get("templates"))
            if own is None:
                continue
            code, line = own
            if code in self._category_lines:
                first = str(self._category_lines[code])
                self._issue(line, "org.duplicate_category", code=code, first_line=first)
                continue
            self._category_lines[code] = line
            self._categories[code] = Category(
                code=code,
                name=name or "",
                name_en=name_en,
                family=family or Family.OTHER,
                resolve_days=days or 1.0,
                acknowledge_hours=acknowledge_hours,
                urgent=bool(urgent),
                escalation=escalation,
                repeat=repeat,
                acknowledge_templates=templates.get("acknowledge", ()),
                resolve_templates=templates.get("resolve", ()),
            )

    def _read_templates(self, node: Node | None) -> dict[str, tuple[str, ...]]:
        """Short replies a cadre can pick: at most eight of each kind, each a
        line of at most 200 characters."""
        if node is None:
            return {}
        fields = self._fields(node, "templates", _TEMPLATE_KEYS)
        if fields is None:
            return {}
        out: dict[str, tuple[str, ...]] = {}
        for kind in _TEMPLATE_KEYS:
            kind_node = fields.get(kind)
            if kind_node is None:
                continue
            items = self._sequence(kind_node, kind, single_ok=True) or []
            if len(items) > TEMPLATE_MAX:
                self._issue(_line(kind_node), "org.too_many_templates", limit=str(TEMPLATE_MAX))
            texts = []
            for item in items[:TEMPLATE_MAX]:
                value = self._scalar_text(item, kind)
                if value is None:
                    continue
                if len(value) > TEMPLATE_LENGTH or "\n" in value:
                    self._issue(_line(item), "org.bad_template", limit=str(TEMPLATE_LENGTH))
                    continue
                texts.append(value)
            out[kind] = tuple(texts)
        return out

    # ----------------------------------------------------- clocks and escalation

    def _read_defaults(self, node: Node) -> None:
        if not isinstance(node, MappingNode):
            self._issue(_line(node), "org.defaults_not_mapping")
            return
        fields = self._mapping_fields(node, _POLICY_KEYS)
        self._defaults = self._read_policy(fields)
        if self._defaults.escalation == () and self._defaults.repeat:
            self._issue(fields.key_line("repeat"), "org.repeat_without_escalation")

    def _read_policy(self, fields: _Fields) -> _Policy:
        written = frozenset(key for key in _POLICY_KEYS if fields.get(key) is not None)
        acknowledge_hours = escalation = repeat = None
        node = fields.get("acknowledge_hours")
        if node is not None:
            acknowledge_hours = self._amount(node, "org.bad_acknowledge_hours", zero_ok=False)
        node = fields.get("escalation")
        if node is not None:
            escalation = self._escalation(node)
        node = fields.get("repeat")
        if node is not None:
            repeat = self._count(node, "org.bad_repeat")
        return _Policy(written, acknowledge_hours, escalation, repeat)

    def _inherit(
        self, own: _Policy, fields: _Fields
    ) -> tuple[float, tuple[EscalationLevel, ...], int]:
        """A category's knobs: its own, else the file's defaults, else the
        built-in ones.  A ``repeat`` the category writes next to an empty
        escalation (its own or inherited) is a mistake; one it inherits is
        dropped, so a category can opt out with ``escalation: []`` alone."""
        source = {key: own if key in own.written else self._defaults for key in _POLICY_KEYS}
        acknowledge_hours = source["acknowledge_hours"].acknowledge_hours
        escalation = source["escalation"].escalation
        repeat = source["repeat"].repeat
        if escalation == () and repeat:
            if "repeat" in own.written:
                self._issue(fields.key_line("repeat"), "org.repeat_without_escalation")
            repeat = 0
        # A knob written with a mistake is None here; the file is invalid anyway.
        return (
            acknowledge_hours or DEFAULT_ACKNOWLEDGE_HOURS,
            DEFAULT_ESCALATION if escalation is None else escalation,
            repeat or 0,
        )

    def _escalation(self, node: Node) -> tuple[EscalationLevel, ...] | None:
        """The levels in file order; None when any of them is wrong.  An empty
        list is valid: the category is never escalated."""
        if not isinstance(node, SequenceNode):
            self._issue(_line(node), "org.escalation_not_list")
            return None
        levels: list[EscalationLevel] = []
        valid = True
        latest: tuple[float, str] | None = None  # the largest after_days so far
        for item in node.value:
            if not isinstance(item, MappingNode):
                self._issue(_line(item), "org.escalation_level_not_mapping")
                valid = False
                continue
            fields = self._mapping_fields(item, _LEVEL_KEYS)
            after = target = None
            after_node = fields.get("after_days")
            if after_node is None:
                self._issue(fields.line, "org.escalation_level_missing", field="after_days")
            else:
                after = self._amount(after_node, "org.bad_after_days", zero_ok=True)
            to_node = fields.get("to")
            if to_node is None:
                self._issue(fields.line, "org.escalation_level_missing", field="to")
            else:
                target = self._enum_value(
                    to_node, EscalationTarget, "to", "org.unknown_escalation_target"
                )
                if target is EscalationTarget.CITY_LEADERS:
                    self._city_targets.append(_line(to_node))
            if after is not None and after_node is not None:
                raw = str(after_node.value)
                if latest is not None and after < latest[0]:
                    self._issue(
                        _line(after_node),
                        "org.escalation_out_of_order",
                        value=raw,
                        previous=latest[1],
                    )
                    valid = False
                else:
                    latest = (after, raw)
            if after is None or target is None:
                valid = False
            else:
                levels.append(EscalationLevel(after, target))
        return tuple(levels) if valid else None

    def _check_city_targets(self) -> None:
        if any(Role.CITY_LEADER in member.roles for member in self._staff.values()):
            return
        for line in self._city_targets:
            self._issue(line, "org.no_city_leader_for_escalation")

    def _read_staff(self, node: Node) -> None:
        for item in self._sequence(node, "staff") or ():
            fields = self._fields(item, "staff", _STAFF_KEYS)
            if fields is None:
                continue
            own = self._code(fields, "id")
            name = self._text(fields, "name", required=True)

            roles: set[Role] = set()
            roles_node = fields.get("roles")
            if roles_node is None:
                self._issue(fields.line, "org.missing_field", field="roles")
            else:
                role_items = self._sequence(roles_node, "roles", single_ok=True)
                if role_items is not None and not role_items:
                    self._issue(_line(roles_node), "org.empty_list", field="roles")
                for role_item in role_items or ():
                    role = self._enum_value(role_item, Role, "role", "org.unknown_role")
                    if role is not None:
                        roles.add(role)

            wards_node = fields.get("wards")
            wards: list[_Ref] = []
            if wards_node is not None:
                wards = self._refs(wards_node, "wards")
            # A ``wards`` of the wrong type is already an issue of its own.
            wards_typed = wards_node is None or isinstance(wards_node, SequenceNode | ScalarNode)
            if roles & _WARD_BOUND_ROLES and not wards and wards_typed:
                self._issue(
                    fields.key_line("wards"),
                    "org.staff_without_wards",
                    staff=own[0] if own else "?",
                )

            telegram_id = None
            telegram_line = fields.line
            telegram_node = fields.get("telegram_id")
            if telegram_node is not None:
                telegram_id = self._positive_int(telegram_node, "org.bad_telegram_id")
                telegram_line = _line(telegram_node)
            zalo_id = None
            zalo_line = fields.line
            zalo_node = fields.get("zalo_id")
            if zalo_node is not None:
                zalo_id = self._zalo_id(zalo_node)
                zalo_line = _line(zalo_node)

            active_node = fields.get("active")
            active = True
            if active_node is not None:
                active = self._flag(active_node, "org.bad_active") is not False

            if own is None:
                continue
            self._add_staff(
                _StaffDraft(
                    id=own[0],
                    line=own[1],
                    name=name,
                    roles=frozenset(roles),
                    wards=wards,
                    telegram_id=telegram_id,
                    active=active,
                    zalo_id=zalo_id,
                ),
                own=_Ref(own[0], own[1]),
                telegram_at=_Ref(str(telegram_id), telegram_line),
                zalo_at=_Ref(str(zalo_id), zalo_line),
            )

    def _read_staff_records(self, records: Sequence[StaffRecord]) -> None:
        for record in records:
            self._add_staff(
                _StaffDraft(
                    id=record.id,
                    line=record.line,
                    name=record.name,
                    roles=record.roles,
                    wards=[_Ref(code, record.line, record.source) for code in record.wards],
                    telegram_id=record.telegram_id,
                    zalo_id=record.zalo_id,
                ),
                own=_Ref(record.id, record.line, record.source),
                telegram_at=_Ref(str(record.telegram_id), record.line, record.source),
                zalo_at=_Ref(str(record.zalo_id), record.line, record.source),
            )

    def _add_staff(
        self, draft: _StaffDraft, *, own: _Ref, telegram_at: _Ref, zalo_at: _Ref
    ) -> None:
        """Register one member unless their id, Telegram id or Zalo id is taken."""
        if draft.telegram_id is not None:
            holder = self._telegram_ids.get(draft.telegram_id)
            if holder is not None:
                self._issue_at(
                    telegram_at,
                    "org.duplicate_telegram_id",
                    telegram_id=str(draft.telegram_id),
                    staff=holder,
                )
            else:
                self._telegram_ids[draft.telegram_id] = draft.id
        if draft.zalo_id is not None:
            zalo_holder = self._zalo_ids.get(draft.zalo_id)
            if zalo_holder is not None:
                self._issue_at(
                    zalo_at, "org.duplicate_zalo_id", zalo_id=draft.zalo_id, staff=zalo_holder
                )
            else:
                self._zalo_ids[draft.zalo_id] = draft.id
        first = self._staff.get(draft.id)
        if first is not None:
            self._issue_at(own, "org.duplicate_staff", id=draft.id, first_line=str(first.line))
            return
        self._staff[draft.id] = draft

    # ---------------------------------------------------------- cross-checks

    def _ward_ref_ok(self, ref: _Ref) -> bool:
        area = self._areas.get(ref.code)
        if area is None:
            self._issue_at(ref, "org.unknown_ward", code=ref.code)
            return False
        if area.kind is not AreaKind.WARD:
            kind = area.kind.value if area.kind else "?"
            self._issue_at(ref, "org.not_a_ward", code=ref.code, kind=kind)
            return False
        return True

    def _check_staff_wards(self) -> None:
        for member in self._staff.values():
            for ref in member.wards:
                self._ward_ref_ok(ref)

    def _serves(self, member: _StaffDraft, role: Role, ward: str) -> bool:
        return role in member.roles and any(ref.code == ward for ref in member.wards)

    def _check_ward_leaders(self) -> dict[str, WardPolicy]:
        policies: dict[str, WardPolicy] = {}
        for area in self._areas.values():
            if area.kind is not AreaKind.WARD:
                continue
            leader = self._check_leader(area, area.leader, conduct=False)
            conduct = self._check_leader(area, area.conduct_leader, conduct=True)
            if leader is not None:
                policies[area.code] = WardPolicy(area.code, leader, conduct or leader)
        return policies

    def _check_leader(self, area: _AreaDraft, ref: _Ref | None, *, conduct: bool) -> str | None:
        if ref is None:
            return None
        member = self._staff.get(ref.code)
        if member is None:
            self._issue_at(ref, "org.unknown_staff", staff=ref.code)
            return None
        ok = self._serves(member, Role.WARD_LEADER, area.code)
        if conduct:
            # Conduct complaints may name anyone in the ward office, so the
            # city may choose to hear them itself.
            ok = ok or Role.CITY_LEADER in member.roles
        if not ok:
            key = "org.conduct_leader_not_leader" if conduct else "org.leader_not_ward_leader"
            self._issue_at(ref, key, staff=ref.code, ward=area.code)
            return None
        return member.id

    def _check_cadre(self, ref: _Ref | None, ward: str | None) -> str | None:
        """The cadre a routing rule names, if they may take work in ``ward``."""
        if ref is None:
            return None
        member = self._staff.get(ref.code)
        if member is None:
            self._issue_at(ref, "org.unknown_staff", staff=ref.code)
            return None
        if Role.CADRE not in member.roles:
            self._issue_at(ref, "org.not_a_cadre", staff=ref.code)
            return None
        if ward is not None and not self._serves(member, Role.CADRE, ward):
            self._issue_at(ref, "org.cadre_not_in_ward", staff=ref.code, ward=ward)
            return None
        return member.id

    def _read_assignments(self, node: Node) -> dict[tuple[str, str], str]:
        out: dict[tuple[str, str], str] = {}
        first_lines: dict[tuple[str, str], int] = {}
        for item in self._sequence(node, "assignments") or ():
            fields = self._fields(item, "assignments", _ASSIGNMENT_KEYS)
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
            area = _Ref(record.area, line, source) if record.area is not None else None
            cadre = _Ref(record.cadre, line, source) if record.cadre is not None else None
            categories = [_Ref(code, line, source) for code in record.categories]
            self._add_assignment(area, categories, cadre, out, first_lines)
        return out

    def _add_assignment(
        self,
        area_ref: _Ref | None,
        categories: list[_Ref],
        cadre_ref: _Ref | None,
        out: dict[tuple[str, str], str],
        first_lines: dict[tuple[str, str], int],
    ) -> None:
        """Check one assignment entry and add its (area, category) pairs to ``out``."""
        ward: str | None = None
        area_ok = False
        if area_ref is not None:
            area = self._areas.get(area_ref.code)
            if area is None:
                self._issue_at(area_ref, "org.unknown_area", code=area_ref.code)
            elif area.kind is AreaKind.CITY:
                self._issue_at(area_ref, "org.assignment_above_ward", code=area_ref.code)
            else:
                ward, area_ok = area.ward, area.kind is not None
        cadre = self._check_cadre(cadre_ref, ward)

        for ref in categories:
            category = self._categories.get(ref.code)
            if category is None:
                self._issue_at(ref, "org.unknown_category", code=ref.code)
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

    def _assignment_categories(self, fields: _Fields) -> list[_Ref]:
        if "category" in fields and "categories" in fields:
            self._issue(fields.key_line("categories"), "org.category_and_categories")
            return []
        single = fields.get("category")
        if single is not None:
            text = self._scalar_text(single, "category")
            return [_Ref(text, _line(single))] if text is not None else []
        several = fields.get("categories")
        if several is None:
            self._issue(fields.line, "org.missing_field", field="categories")
            return []
        refs = self._refs(several, "categories")
        if isinstance(several, SequenceNode) and not several.value:
            self._issue(_line(several), "org.empty_list", field="categories")
        return refs

    def _read_family_defaults(self, node: Node) -> dict[tuple[str, Family], str]:
        out: dict[tuple[str, Family], str] = {}
        first_lines: dict[tuple[str, Family], int] = {}
        for item in self._sequence(node, "family_defaults") or ():
            fields = self._fields(item, "family_defaults", _FAMILY_DEFAULT_KEYS)
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
                self._issue(_line(family_node), "org.conduct_not_assignable", what=family.value)
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

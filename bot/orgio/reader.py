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

from collections.abc import Sequence
from pathlib import Path

from yaml.nodes import MappingNode, Node, SequenceNode

from bot.domain.orgchart import (
    Area,
    AreaKind,
    OrgChart,
    StaffMember,
)
from bot.orgio.assignments import AssignmentReader
from bot.orgio.csvfiles import read_assignments_csv, read_staff_csv
from bot.orgio.issues import (
    AssignmentRecord,
    OrgChartInvalid,
    OrgIssue,
    StaffRecord,
    read_text_file,
)
from bot.orgio.yamlnodes import TOP_KEYS, line_of

__all__ = [
    "AssignmentRecord",
    "OrgChartInvalid",
    "OrgIssue",
    "StaffRecord",
    "load_org_file",
    "parse_org",
    "read_text_file",
]


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


class _Reader(AssignmentReader):
    """The whole chart: each section read by its floor (fields, areas,
    categories, staff, assignments), then checked as one."""

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
            self._issue(line_of(root), "org.not_a_mapping")
            return None
        top = self._mapping_fields(root, TOP_KEYS)

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

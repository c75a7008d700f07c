"""The org-chart file: the example is valid, and every mistake a clerk can make
is reported with the right key on the right line.

Snippets mark the lines where issues are expected with ``# <- key`` comments
(several keys may share a line), so a case reads like the file a clerk would
see, and the expected line numbers can never drift from the text.
"""

from __future__ import annotations

import re
import string
import textwrap
import tomllib
from pathlib import Path

import pytest

from bot import i18n
from bot.domain.orgchart import (
    DEFAULT_ACKNOWLEDGE_HOURS,
    DEFAULT_ESCALATION,
    AreaKind,
    EscalationLevel,
    EscalationTarget,
    Family,
    GeoPoint,
    OrgChart,
    Role,
)
from bot.orgio.reader import OrgChartInvalid, OrgIssue, load_org_file, parse_org
from bot.orgio.writer import dump_org

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "org.yaml"
LOCALES = ROOT / "bot" / "locales"

# ----------------------------------------------------------------- building

AREAS = """\
areas:
  - code: C
    name: Thành phố C
    kind: city
    children:
      - code: W
        name: Phường W
        kind: ward
        leader: ld
{w_fields}\
        children:
          - code: Z
            name: Khu 1
            kind: zone
            children:
              - code: G1
                name: Tổ 1
                kind: group
                centre: [107.08, 20.95]
{in_zone}\
          - code: G2
            name: Tổ 2
            kind: group
{in_ward}\
      - code: W2
        name: Phường W2
        kind: ward
        leader: ld2
        children:
          - code: G3
            name: Tổ 3
            kind: group
{in_city}\
{at_root}\
"""

CATEGORIES = """
- code: RAC
  name: Rác thải
  name_en: Rubbish
  family: sanitation
  resolve_days: 2
- code: LCVH
  name: Lấn chiếm vỉa hè
  family: urban_order
  resolve_days: 5
- code: TDCB
  name: Thái độ cán bộ
  family: official_conduct
  resolve_days: 15
"""

STAFF = """
- id: ld
  name: Chủ tịch W
  roles: [ward_leader]
  wards: [W]
  telegram_id: 7001
- id: ld2
  name: Chủ tịch W2
  roles: [ward_leader]
  wards: [W2]
- id: cb
  name: Cán bộ W
  roles: [cadre]
  wards: [W]
- id: cb2
  name: Cán bộ W2
  roles: [cadre]
  wards: [W2]
- id: tp
  name: Lãnh đạo thành phố
  roles: [city_leader]
"""


def block(snippet: str, indent: int) -> str:
    """A snippet written flush left, indented to its place in the file."""
    text = textwrap.dedent(snippet).strip("\n")
    return textwrap.indent(text, " " * indent) + "\n" if text else ""


def org_yaml(
    *,
    w_fields: str = "",
    in_zone: str = "",
    in_ward: str = "",
    in_city: str = "",
    at_root: str = "",
    categories: str = "",
    staff: str = "",
    assignments: str = "",
    family_defaults: str = "",
    defaults: str = "",
    top: str = "",
) -> str:
    """A valid two-ward file, with snippets added at the named places."""
    text = AREAS.format(
        w_fields=block(w_fields, 8),
        in_zone=block(in_zone, 14),
        in_ward=block(in_ward, 10),
        in_city=block(in_city, 6),
        at_root=block(at_root, 2),
    )
    text += "categories:\n" + block(CATEGORIES, 2) + block(categories, 2)
    text += "staff:\n" + block(STAFF, 2) + block(staff, 2)
    if assignments:
        text += "assignments:\n" + block(assignments, 2)
    if family_defaults:
        text += "family_defaults:\n" + block(family_defaults, 2)
    if defaults:
        text += "defaults:\n" + block(defaults, 2)
    return text + block(top, 0)


def marked(text: str) -> list[tuple[int, str]]:
    """The (line, key) pairs the ``# <- key ...`` markers in ``text`` ask for."""
    out: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if "# <-" in line:
            out.extend((number, f"org.{key}") for key in line.split("# <-", 1)[1].split())
    return sorted(out)


def issues_of(text: str) -> list[OrgIssue]:
    with pytest.raises(OrgChartInvalid) as caught:
        parse_org(text)
    return caught.value.issues


def load_catalogue(lang: str) -> dict[str, str]:
    with (LOCALES / f"{lang}.toml").open("rb") as f:
        table: dict[str, str] = tomllib.load(f)["org"]
    return {f"org.{key}": value for key, value in table.items()}


def placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


CATALOGUES = {lang: load_catalogue(lang) for lang in ("vi", "en")}


def assert_issues_as_marked(text: str) -> None:
    issues = issues_of(text)
    assert sorted((i.line, i.key) for i in issues) == marked(text), text
    assert [i.line for i in issues] == sorted(i.line for i in issues)
    for issue in issues:
        # Every issue must render in both languages with exactly its params.
        for lang, catalogue in CATALOGUES.items():
            assert placeholders(catalogue[issue.key]) == set(issue.params), issue
            i18n.t(lang, issue.key, **issue.params)


def entry(first: str, *rest: str) -> str:
    """One list item in block style, one field per row."""
    return "\n".join([f"- {first}", *(f"  {row}" for row in rest)])


def group(code: str, *extra: str, mark: str = "") -> str:
    """A residential group entry; ``extra`` rows go inside it, ``mark`` on its first line."""
    return entry(f"code: {code}  {mark}".rstrip(), f"name: Tổ {code}", "kind: group", *extra)


def category(code: str, *extra: str, days: str = "1") -> str:
    """A category entry; ``extra`` rows go inside it, after its deadline."""
    return entry(
        f"code: {code}", f"name: Lĩnh vực {code}", "family: other", f"resolve_days: {days}", *extra
    )


def levels(*rows: str) -> tuple[str, ...]:
    """An ``escalation:`` block, its rows indented under it."""
    return ("escalation:", *(f"  {row}" for row in rows))


# --------------------------------------------------------------- valid files


def test_base_file_is_valid() -> None:
    """Every negative case below relies on the base file being clean."""
    chart = parse_org(org_yaml())
    assert list(chart.areas) == ["C", "W", "Z", "G1", "G2", "W2", "G3"]
    assert chart.ward_of("G1") == "W"
    assert chart.wards["W"].conduct_leader == "ld"  # defaults to the leader
    assert chart.staff["tp"].wards == ()
    assert chart.staff["ld"].telegram_id == 7001
    assert chart.categories["LCVH"].name_en == ""


@pytest.fixture(scope="module")
def example() -> OrgChart:
    return load_org_file(EXAMPLE)


def test_example_areas(example: OrgChart) -> None:
    groups = example.groups("HONGHAI")
    assert len(groups) >= 12
    assert len(example.groups("BACHDANG")) >= 3
    assert all(example.ward_of(g.code) is not None for g in example.groups())
    assert any(g.polygon for g in groups)
    assert any(g.centre for g in groups)
    assert {a.kind for a in example.areas.values()} == set(AreaKind)
    # Pre-order: the city, its first ward, the ward's first zone, its first group.
    assert list(example.areas)[:4] == ["HALONG", "HONGHAI", "HH-K1", "HH-TDP01"]
    for area in example.areas.values():
        for point in [*(area.polygon or ()), *([area.centre] if area.centre else [])]:
            assert 107.06 <= point.lon <= 107.11
            assert 20.94 <= point.lat <= 20.96


def _inside(point: GeoPoint, ring: tuple[GeoPoint, ...]) -> bool:
    inside = False
    for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
        if (a.lat > point.lat) != (b.lat > point.lat):
            lon = a.lon + (point.lat - a.lat) * (b.lon - a.lon) / (b.lat - a.lat)
            inside ^= point.lon < lon
    return inside


def test_example_polygons_do_not_overlap(example: OrgChart) -> None:
    """Each group's inner point and each centre fall in no other group's polygon."""
    shapes = {a.code: a.polygon for a in example.areas.values() if a.polygon}
    for area in example.areas.values():
        if area.polygon:
            n = len(area.polygon)
            probe = GeoPoint(
                sum(p.lon for p in area.polygon) / n, sum(p.lat for p in area.polygon) / n
            )
        elif area.centre:
            probe = area.centre
        else:
            continue
        holders = {code for code, ring in shapes.items() if _inside(probe, ring)}
        assert holders <= {area.code}, area.code


def test_example_people_and_routing(example: OrgChart) -> None:
    assert example.wards["HONGHAI"].leader != example.wards["HONGHAI"].conduct_leader
    assert example.wards["BACHDANG"].conduct_leader == example.wards["BACHDANG"].leader
    assert len(example.city_leaders()) == 2
    cadres = [s for s in example.staff.values() if s.has_role(Role.CADRE)]
    assert sum(1 for s in cadres if "HONGHAI" in s.wards) >= 5
    assert [s.id for s in example.staff.values() if s.telegram_id is None] == ["tt-hh-12"]
    assert example.families() == list(Family)
    assert example.assignments[("HONGHAI", "RTPT")] == "cb-hh-mt"
    assert ("HH-TDP11", "XDKP") not in example.assignments  # left to the family default
    assert ("HONGHAI", Family.URBAN_ORDER) in example.family_defaults
    assert ("HONGHAI", Family.OTHER) not in example.family_defaults  # left to the leader
    days = {c.code: c.resolve_days for c in example.categories.values()}
    assert (days["RTPT"], days["LCVH"], days["XDKP"], days["TDCB"], days["KHAC"]) == (
        2,
        5,
        10,
        15,
        5,
    )


def test_example_deadlines_and_escalation(example: OrgChart) -> None:
    """The ward-wide policy is written once in ``defaults:``; flooding is urgent."""
    crnu = example.categories["CRNU"]
    assert (crnu.urgent, crnu.resolve_days, crnu.acknowledge_hours) == (True, 1, 2)
    for cat in example.categories.values():
        assert cat.escalation == DEFAULT_ESCALATION, cat.code
        assert cat.repeat == 1, cat.code
        if cat.code != "CRNU":
            assert not cat.urgent, cat.code
            assert cat.acknowledge_hours == DEFAULT_ACKNOWLEDGE_HOURS, cat.code
    by_family = {f: {c.resolve_days for c in example.categories_of(f)} for f in Family}
    assert by_family == {
        Family.SANITATION: {2, 1},  # 1: CRNU, in calendar days
        Family.URBAN_ORDER: {5, 10},
        Family.OFFICIAL_CONDUCT: {15},
        Family.OTHER: {5},
    }
    assert example.categories["XDKP"].resolve_days == 10


def test_single_ward_without_city() -> None:
    chart = parse_org(
        textwrap.dedent("""\
        areas:
          - code: XA
            name: Xã Một Mình
            kind: ward
            leader: ct
            children:
              - code: THON1
                name: Thôn 1
                kind: group
        categories:
          - code: KHAC
            name: Khác
            family: other
            resolve_days: 5
        staff:
          - id: ct
            name: Chủ tịch xã
            roles: ward_leader
            wards: XA
        """)
    )
    assert chart.ward_codes() == ["XA"]
    assert chart.areas["XA"].parent is None
    assert chart.ward_of("THON1") == "XA"
    assert chart.staff["ct"].roles == frozenset({Role.WARD_LEADER})


def test_accepted_variants() -> None:
    """GeoJSON-style rings, a city leader hearing conduct complaints, ``category:``."""
    chart = parse_org(
        org_yaml(
            w_fields="conduct_leader: tp",
            in_ward=group(
                "G9",
                "polygon: [[[107.1, 20.9], [107.2, 20.9], [107.2, 21.0], [107.1, 20.9]]]",
            ),
            assignments="- area: G9\n  category: RAC\n  cadre: cb",
            family_defaults="- ward: W2\n  family: urban_order\n  cadre: cb2",
        )
    )
    assert chart.areas["G9"].polygon == (
        GeoPoint(107.1, 20.9),
        GeoPoint(107.2, 20.9),
        GeoPoint(107.2, 21.0),
    )
    assert chart.wards["W"].conduct_leader == "tp"
    assert chart.assignments == {("G9", "RAC"): "cb"}
    assert chart.family_defaults == {("W2", Family.URBAN_ORDER): "cb2"}


def test_clock_knobs_have_built_in_defaults() -> None:
    """A file that says nothing about deadlines gets the built-in policy."""
    chart = parse_org(org_yaml())
    for cat in chart.categories.values():
        assert cat.acknowledge_hours == DEFAULT_ACKNOWLEDGE_HOURS
        assert cat.escalation == DEFAULT_ESCALATION
        assert (cat.urgent, cat.repeat) == (False, 0)


def test_defaults_apply_and_are_overridden() -> None:
    chart = parse_org(
        org_yaml(
            defaults="""
            acknowledge_hours: 4
            escalation:
              - {after_days: 1, to: ward_leader}
              - {after_days: 1.5, to: city_leaders}
            repeat: 2
            """,
            categories="\n".join(
                [
                    category(
                        "OWN",
                        "acknowledge_hours: 0.5",
                        "repeat: 0",
                        *levels("- {after_days: 0, to: city_leaders}"),
                    ),
                    category("NEVER", "escalation: []"),  # the inherited repeat is dropped
                    category("BLANK", "escalation:", "acknowledge_hours:"),  # empty = not set
                    category("HALF", "urgent: yes", days="0.5"),
                ]
            ),
        )
    )
    inherited = (
        EscalationLevel(1.0, EscalationTarget.WARD_LEADER),
        EscalationLevel(1.5, EscalationTarget.CITY_LEADERS),
    )
    knobs = {
        c.code: (c.acknowledge_hours, c.escalation, c.repeat, c.urgent, c.resolve_days)
        for c in chart.categories.values()
    }
    assert knobs == {
        "RAC": (4, inherited, 2, False, 2),
        "LCVH": (4, inherited, 2, False, 5),
        "TDCB": (4, inherited, 2, False, 15),
        "OWN": (0.5, (EscalationLevel(0.0, EscalationTarget.CITY_LEADERS),), 0, False, 1),
        "NEVER": (4, (), 0, False, 1),
        "BLANK": (4, inherited, 2, False, 1),
        "HALF": (4, inherited, 2, True, 0.5),
    }


def test_defaults_set_in_part_leave_the_rest_built_in() -> None:
    chart = parse_org(org_yaml(defaults="repeat: 1", categories=category("X", "repeat: 0")))
    rac, x = chart.categories["RAC"], chart.categories["X"]
    assert (rac.acknowledge_hours, rac.escalation, rac.repeat) == (
        DEFAULT_ACKNOWLEDGE_HOURS,
        DEFAULT_ESCALATION,
        1,
    )
    assert x.repeat == 0


@pytest.mark.parametrize(
    ("value", "urgent"),
    [("true", True), ("false", False), ("yes", True), ("no", False), ("True", True), ("on", True)],
)
def test_urgent_accepts_yaml_booleans(value: str, urgent: bool) -> None:
    chart = parse_org(org_yaml(categories=category("X", f"urgent: {value}")))
    assert chart.categories["X"].urgent is urgent


def test_escalation_levels_may_share_a_day_and_be_fractional() -> None:
    chart = parse_org(
        org_yaml(
            categories=category(
                "X",
                *levels(
                    "- {after_days: 0, to: ward_leader}",
                    "- {after_days: 0, to: city_leaders}",
                    "- {after_days: 0.5, to: Ward_Leader}",
                ),
                "repeat: 3",
            )
        )
    )
    x = chart.categories["X"]
    assert [(level.after_days, level.target) for level in x.escalation] == [
        (0.0, EscalationTarget.WARD_LEADER),
        (0.0, EscalationTarget.CITY_LEADERS),
        (0.5, EscalationTarget.WARD_LEADER),
    ]
    assert x.repeat == 3


@pytest.mark.parametrize("value", ["0.5", "2.5", "1", "10"])
def test_resolve_days_may_be_fractional(value: str) -> None:
    chart = parse_org(org_yaml(categories=category("X", days=value)))
    assert chart.categories["X"].resolve_days == float(value)


# ---------------------------------------------------------------- mistakes

MISTAKES = [
    # -- the shape of the file
    pytest.param({"top": "asignments: []  # <- unknown_key_did_you_mean"}, id="top-level-typo"),
    pytest.param({"top": "colour: blue  # <- unknown_key"}, id="top-level-unknown"),
    pytest.param(
        {"in_ward": group("G9", "chidren: []  # <- unknown_key_did_you_mean")}, id="area-key-typo"
    ),
    pytest.param({"in_ward": group("G9", "colour: red  # <- unknown_key")}, id="area-key-unknown"),
    pytest.param({"in_ward": group("G9", "name: Tổ 9b  # <- duplicate_key")}, id="duplicate-key"),
    pytest.param({"in_ward": entry("code: G9  # <- missing_field", "kind: group")}, id="no-name"),
    pytest.param({"in_ward": entry("code: G9  # <- missing_field", "name: Tổ 9")}, id="no-kind"),
    pytest.param({"in_ward": entry("name: Tổ 9  # <- missing_field", "kind: group")}, id="no-code"),
    pytest.param(
        {"in_ward": entry("code: G9", "name: ''  # <- missing_field", "kind: group")},
        id="empty-name",
    ),
    pytest.param(
        {"in_ward": entry("code: G9", "name: [Tổ, 9]  # <- expected_text", "kind: group")},
        id="name-not-text",
    ),
    pytest.param({"in_zone": "- G9  # <- expected_mapping"}, id="area-not-mapping"),
    pytest.param({"in_ward": group("G9", "[a, b]: c  # <- bad_key")}, id="key-not-text"),
    pytest.param(
        {
            "in_ward": entry(
                "code: Z9", "name: Khu", "kind: zone", "children: G9  # <- expected_list"
            )
        },
        id="children-not-list",
    ),
    pytest.param({"in_ward": group("TỔ 9", mark="# <- bad_code")}, id="code-with-space"),
    pytest.param({"in_ward": group("G" * 33, mark="# <- bad_code")}, id="code-too-long"),
    # -- the area tree
    pytest.param({"in_ward": group("G1", mark="# <- duplicate_area")}, id="duplicate-area"),
    pytest.param(
        {"in_ward": entry("code: G9", "name: Tổ 9", "kind: tổ  # <- unknown_kind")},
        id="unknown-kind",
    ),
    pytest.param({"at_root": group("G9", mark="# <- not_under_ward")}, id="group-at-root"),
    pytest.param(
        {"in_city": "- {code: Z9, name: Khu 9, kind: zone}  # <- not_under_ward"},
        id="zone-under-city",
    ),
    pytest.param(
        {"in_ward": "- {code: W9, name: P, kind: ward}  # <- ward_in_ward ward_without_leader"},
        id="ward-in-ward",
    ),
    pytest.param(
        {
            "in_city": """
            - code: Z9  # <- not_under_ward
              name: Khu 9
              kind: zone
              children:
                - code: W9  # <- ward_not_under_city
                  name: Phường 9
                  kind: ward
                  leader: ld  # <- leader_not_ward_leader
            """
        },
        id="ward-under-zone",
    ),
    pytest.param(
        {"in_ward": "- {code: C9, name: Thành phố 9, kind: city}  # <- city_below_ward"},
        id="city-in-ward",
    ),
    pytest.param(
        {
            "in_ward": group(
                "G9", "children:  # <- group_has_children", *block(group("G10"), 2).splitlines()
            )
        },
        id="group-with-children",
    ),
    pytest.param(
        {"in_city": "- {code: W9, name: Phường 9, kind: ward}  # <- ward_without_leader"},
        id="ward-without-leader",
    ),
    pytest.param(
        {
            "in_city": entry(
                "code: W9", "name: P", "kind: ward", "leader: nobody  # <- unknown_staff"
            )
        },
        id="leader-unknown",
    ),
    pytest.param(
        {
            "in_city": entry(
                "code: W9", "name: P", "kind: ward", "leader: cb  # <- leader_not_ward_leader"
            )
        },
        id="leader-is-cadre",
    ),
    pytest.param(
        {"w_fields": "conduct_leader: ld2  # <- conduct_leader_not_leader"},
        id="conduct-leader-of-other-ward",
    ),
    pytest.param(
        {"w_fields": "conduct_leader: cb  # <- conduct_leader_not_leader"},
        id="conduct-leader-is-cadre",
    ),
    pytest.param(
        {"in_ward": group("G9", "leader: ld  # <- leader_not_on_ward")}, id="leader-on-group"
    ),
    pytest.param(
        {"in_ward": group("G9", "refer_to: Hỏi UBND thành phố  # <- leader_not_on_ward")},
        id="refer-to-on-group",
    ),
    pytest.param(
        {"w_fields": "refer_to: " + "Liên hệ UBND thành phố. " * 25 + " # <- refer_to_too_long"},
        id="refer-to-too-long",
    ),
    # -- geometry
    pytest.param(
        {
            "in_ward": group(
                "G9",
                "polygon:  # <- polygon_too_few_points",
                "  - [107.1, 20.9]",
                "  - [107.2, 20.9]",
                "  - [107.1, 20.9]",
            )
        },
        id="polygon-two-points",
    ),
    pytest.param(
        {
            "in_ward": group(
                "G9",
                "polygon:",
                "  - [107.1, 20.9]",
                "  - [107.2, 20.9]",
                "  - [20.9, 107.2]  # <- coordinate_out_of_range",
            )
        },
        id="polygon-lat-lon-swapped",
    ),
    pytest.param(
        {"in_ward": group("G9", "centre: [200, 20]  # <- coordinate_out_of_range")},
        id="centre-out-of-range",
    ),
    pytest.param(
        {"in_ward": group("G9", "centre: [.nan, 20]  # <- coordinate_out_of_range")},
        id="centre-nan",
    ),
    pytest.param({"in_ward": group("G9", "centre: [107.1]  # <- bad_point")}, id="centre-short"),
    pytest.param(
        {"in_ward": group("G9", "centre: [east, north]  # <- bad_point")}, id="centre-words"
    ),
    pytest.param(
        {"in_ward": group("G9", "polygon: here  # <- expected_list")}, id="polygon-not-list"
    ),
    pytest.param(
        {
            "in_ward": group(
                "G9",
                "polygon: [[107.1, 20.9], [107.2, 20.9], [107.2, 21.0]]",
                "centre: [107.15, 20.95]  # <- polygon_and_centre",
            )
        },
        id="polygon-and-centre",
    ),
    # -- categories
    pytest.param(
        {
            "categories": entry(
                "code: RAC  # <- duplicate_category", "name: R", "family: other", "resolve_days: 1"
            )
        },
        id="duplicate-category",
    ),
    pytest.param(
        {
            "categories": entry(
                "code: X", "name: X", "family: traffic  # <- unknown_family", "resolve_days: 1"
            )
        },
        id="unknown-family",
    ),
    pytest.param(
        {"categories": entry("code: X  # <- missing_field", "name: X", "family: other")},
        id="no-resolve-days",
    ),
    # -- deadlines and escalation
    pytest.param(
        {"categories": category("X", "acknowledge_hours: 0  # <- bad_acknowledge_hours")},
        id="ack-zero",
    ),
    pytest.param(
        {"categories": category("X", "urgent: 'true'  # <- bad_urgent")}, id="urgent-quoted"
    ),
    pytest.param(
        {"categories": category("X", "escalaton: []  # <- unknown_key_did_you_mean")},
        id="escalation-typo",
    ),
    pytest.param(
        {"categories": category("X", "escalation: ward_leader  # <- escalation_not_list")},
        id="escalation-not-list",
    ),
    pytest.param(
        {
            "categories": category(
                "X", "escalation: {after_days: 0, to: ward_leader}  # <- escalation_not_list"
            )
        },
        id="escalation-one-mapping",
    ),
    pytest.param(
        {"categories": category("X", *levels("- ward_leader  # <- escalation_level_not_mapping"))},
        id="level-not-mapping",
    ),
    pytest.param(
        {
            "categories": category(
                "X", "escalation: [[0, ward_leader]]  # <- escalation_level_not_mapping"
            )
        },
        id="level-a-list",
    ),
    pytest.param(
        {
            "categories": category(
                "X", *levels("- {after_days: 0, to: ward_leader, via: sms}  # <- unknown_key")
            )
        },
        id="level-unknown-key",
    ),
    pytest.param(
        {
            "categories": category(
                "X",
                *levels(
                    "- after_day: 0  # <- unknown_key_did_you_mean escalation_level_missing",
                    "  to: ward_leader",
                ),
            )
        },
        id="level-key-typo",
    ),
    pytest.param(
        {"categories": category("X", *levels("- after_days: 0  # <- escalation_level_missing"))},
        id="level-without-to",
    ),
    pytest.param(
        {"categories": category("X", *levels("- to: ward_leader  # <- escalation_level_missing"))},
        id="level-without-after-days",
    ),
    pytest.param(
        {
            "categories": category(
                "X", *levels("- {}  # <- escalation_level_missing escalation_level_missing")
            )
        },
        id="level-empty",
    ),
    pytest.param(
        {
            "categories": category(
                "X", *levels("- after_days: -1  # <- bad_after_days", "  to: ward_leader")
            )
        },
        id="after-days-negative",
    ),
    pytest.param(
        {
            "categories": category(
                "X", *levels("- after_days: soon  # <- bad_after_days", "  to: ward_leader")
            )
        },
        id="after-days-words",
    ),
    pytest.param(
        {
            "categories": category(
                "X",
                *levels("- after_days: 0", "  to: chairman  # <- unknown_escalation_target"),
            )
        },
        id="unknown-target",
    ),
    pytest.param(
        {
            "categories": category(
                "X", *levels("- after_days: 0", "  to: [ward_leader]  # <- expected_text")
            )
        },
        id="target-not-text",
    ),
    pytest.param(
        {
            "categories": category(
                "X",
                *levels(
                    "- after_days: 2",
                    "  to: city_leaders",
                    "- after_days: 0  # <- escalation_out_of_order",
                    "  to: ward_leader",
                ),
            )
        },
        id="levels-out-of-order",
    ),
    pytest.param(
        {
            "categories": category(
                "X",
                *levels(
                    "- {after_days: 0, to: ward_leader}",
                    "- {after_days: 3, to: city_leaders}",
                    "- {after_days: 1, to: ward_leader}  # <- escalation_out_of_order",
                    "- {after_days: 2, to: ward_leader}  # <- escalation_out_of_order",
                    "- {after_days: 3, to: ward_leader}",
                ),
            )
        },
        id="levels-out-of-order-twice",
    ),
    pytest.param(
        {
            "categories": category(
                "X", "escalation: []", "repeat: 1  # <- repeat_without_escalation"
            )
        },
        id="repeat-empty-escalation",
    ),
    pytest.param(
        {
            "defaults": "escalation: []\nrepeat: 2  # <- repeat_without_escalation",
            "categories": category("X", "escalation: [{after_days: 1, to: ward_leader}]"),
        },
        id="defaults-repeat-empty-escalation",
    ),
    pytest.param(
        {
            "defaults": "escalation: []",
            "categories": category("X", "repeat: 1  # <- repeat_without_escalation"),
        },
        id="repeat-with-inherited-empty-escalation",
    ),
    pytest.param({"top": "defaults: [repeat]  # <- defaults_not_mapping"}, id="defaults-list"),
    pytest.param({"defaults": "resolve_days: 3  # <- unknown_key"}, id="defaults-resolve-days"),
    pytest.param({"defaults": "urgent: true  # <- unknown_key"}, id="defaults-urgent"),
    pytest.param({"defaults": "repeats: 1  # <- unknown_key_did_you_mean"}, id="defaults-key-typo"),
    pytest.param(
        {"defaults": "acknowledge_hours: -8  # <- bad_acknowledge_hours"}, id="defaults-bad-ack"
    ),
    pytest.param({"defaults": "repeat: once  # <- bad_repeat"}, id="defaults-bad-repeat"),
    pytest.param(
        {
            # A mistake in the defaults is reported once, not once per category.
            "defaults": "\n".join(
                levels("- {after_days: 0, to: mayor}  # <- unknown_escalation_target")
            ),
        },
        id="defaults-bad-escalation",
    ),
    # -- staff
    pytest.param(
        {"staff": "- {id: cb, name: X, roles: [cadre], wards: [W]}  # <- duplicate_staff"},
        id="duplicate-staff",
    ),
    pytest.param(
        {
            "staff": entry(
                "id: x", "name: X", "roles: [cadre, boss]  # <- unknown_role", "wards: [W]"
            )
        },
        id="unknown-role",
    ),
    pytest.param(
        {"staff": entry("id: x", "name: X", "roles: []  # <- empty_list", "wards: [W]")},
        id="no-roles",
    ),
    pytest.param(
        {"staff": entry("id: x  # <- missing_field", "name: X", "wards: [W]")}, id="no-roles-field"
    ),
    pytest.param(
        {"staff": entry("id: x  # <- staff_without_wards", "name: X", "roles: [cadre]")},
        id="cadre-without-wards",
    ),
    pytest.param(
        {
            "staff": entry(
                "id: x", "name: X", "roles: ward_leader", "wards: []  # <- staff_without_wards"
            )
        },
        id="leader-with-empty-wards",
    ),
    pytest.param(
        {"staff": entry("id: x", "name: X", "roles: cadre", "wards: [NOWHERE]  # <- unknown_ward")},
        id="staff-ward-unknown",
    ),
    pytest.param(
        {"staff": entry("id: x", "name: X", "roles: cadre", "wards: [G1]  # <- not_a_ward")},
        id="staff-ward-is-group",
    ),
    pytest.param(
        {"staff": entry("id: x", "name: X", "roles: cadre", "wards: {W: 1}  # <- expected_list")},
        id="staff-wards-mapping",
    ),
    pytest.param(
        {
            "staff": entry(
                "id: x",
                "name: X",
                "roles: city_leader",
                "telegram_id: 7001  # <- duplicate_telegram_id",
            )
        },
        id="duplicate-telegram-id",
    ),
    # -- assignments
    pytest.param(
        {"assignments": entry("area: NOWHERE  # <- unknown_area", "category: RAC", "cadre: cb")},
        id="assign-unknown-area",
    ),
    pytest.param(
        {
            "assignments": entry(
                "area: G1", "categories: [RAC, XX]  # <- unknown_category", "cadre: cb"
            )
        },
        id="assign-unknown-category",
    ),
    pytest.param(
        {"assignments": entry("area: G1", "category: RAC", "cadre: nobody  # <- unknown_staff")},
        id="assign-unknown-staff",
    ),
    pytest.param(
        {"assignments": entry("area: G1", "category: RAC", "cadre: ld  # <- not_a_cadre")},
        id="assign-to-leader",
    ),
    pytest.param(
        {"assignments": entry("area: G1", "category: RAC", "cadre: cb2  # <- cadre_not_in_ward")},
        id="assign-cadre-of-other-ward",
    ),
    pytest.param(
        {"assignments": entry("area: C  # <- assignment_above_ward", "category: RAC", "cadre: cb")},
        id="assign-on-city",
    ),
    pytest.param(
        {
            "assignments": entry(
                "area: Z", "category: TDCB  # <- conduct_not_assignable", "cadre: cb"
            )
        },
        id="assign-conduct",
    ),
    pytest.param(
        {
            "assignments": entry("area: W", "categories: [RAC, LCVH]", "cadre: cb")
            + "\n"
            + entry("area: W", "categories: [LCVH]  # <- duplicate_assignment", "cadre: cb")
        },
        id="assign-twice",
    ),
    pytest.param(
        {
            "assignments": entry(
                "area: G1",
                "category: RAC",
                "categories: [LCVH]  # <- category_and_categories",
                "cadre: cb",
            )
        },
        id="category-and-categories",
    ),
    pytest.param(
        {"assignments": entry("area: G1  # <- missing_field", "cadre: cb")}, id="assign-no-category"
    ),
    pytest.param(
        {"assignments": entry("area: G1  # <- missing_field", "category: RAC")},
        id="assign-no-cadre",
    ),
    pytest.param(
        {"assignments": entry("area: G1", "categories: []  # <- empty_list", "cadre: cb")},
        id="assign-empty-categories",
    ),
    # -- family defaults
    pytest.param(
        {
            "family_defaults": entry(
                "ward: NOWHERE  # <- unknown_ward", "family: other", "cadre: cb"
            )
        },
        id="default-unknown-ward",
    ),
    pytest.param(
        {"family_defaults": entry("ward: Z  # <- not_a_ward", "family: other", "cadre: cb")},
        id="default-on-zone",
    ),
    pytest.param(
        {"family_defaults": entry("ward: W  # <- missing_field", "cadre: cb")},
        id="default-no-family",
    ),
    pytest.param(
        {"family_defaults": entry("ward: W", "family: trash  # <- unknown_family", "cadre: cb")},
        id="default-unknown-family",
    ),
    pytest.param(
        {
            "family_defaults": entry(
                "ward: W", "family: other", "cadre: cb2  # <- cadre_not_in_ward"
            )
        },
        id="default-cadre-of-other-ward",
    ),
    pytest.param(
        {
            "family_defaults": entry(
                "ward: W", "family: official_conduct  # <- conduct_not_assignable", "cadre: cb"
            )
        },
        id="default-conduct",
    ),
    pytest.param(
        {
            "family_defaults": entry("ward: W", "family: sanitation", "cadre: cb")
            + "\n"
            + entry("ward: W  # <- duplicate_family_default", "family: sanitation", "cadre: cb")
        },
        id="default-twice",
    ),
    # -- several mistakes in different sections at once
    pytest.param(
        {
            "in_ward": group("G9", "chidren: []  # <- unknown_key_did_you_mean"),
            "categories": entry(
                "code: X", "name: X", "family: other", "resolve_days: 0  # <- bad_resolve_days"
            ),
            "staff": entry("id: x  # <- staff_without_wards", "name: X", "roles: [cadre]"),
            "assignments": entry("area: G9", "category: RAC", "cadre: cb2  # <- cadre_not_in_ward"),
        },
        id="several",
    ),
]


@pytest.mark.parametrize("parts", MISTAKES)
def test_mistake_is_reported_on_its_line(parts: dict[str, str]) -> None:
    assert_issues_as_marked(org_yaml(**parts))


@pytest.mark.parametrize(
    "value", ["0", "-3", "-0.5", "'5'", "true", "[5]", "two", "1:30", ".inf", ".nan", "1e3"]
)
def test_bad_resolve_days(value: str) -> None:
    snippet = (
        f"- code: X\n  name: X\n  family: other\n  resolve_days: {value}  # <- bad_resolve_days"
    )
    assert_issues_as_marked(org_yaml(categories=snippet))


@pytest.mark.parametrize("value", ["0", "-7001", "abc", "1.5"])
def test_bad_telegram_id(value: str) -> None:
    snippet = (
        f"- id: x\n  name: X\n  roles: [city_leader]\n  telegram_id: {value}  # <- bad_telegram_id"
    )
    assert_issues_as_marked(org_yaml(staff=snippet))


@pytest.mark.parametrize("value", ["'có dấu'", "'a b'", "[e4ea]", "{id: 1}", "'" + "a" * 65 + "'"])
def test_bad_zalo_id(value: str) -> None:
    snippet = f"- id: x\n  name: X\n  roles: [city_leader]\n  zalo_id: {value}  # <- bad_zalo_id"
    assert_issues_as_marked(org_yaml(staff=snippet))


def test_a_zalo_id_is_kept_as_written_and_may_sit_beside_a_telegram_id() -> None:
    staff = (
        "- id: x\n  name: X\n  roles: [city_leader]\n  telegram_id: 7009\n  zalo_id: e4ea5c\n"
        "- id: y\n  name: Y\n  roles: [city_leader]\n  zalo_id: 0012345"
    )
    chart = parse_org(org_yaml(staff=staff))
    assert (chart.staff["x"].telegram_id, chart.staff["x"].zalo_id) == (7009, "e4ea5c")
    assert chart.staff["y"].zalo_id == "0012345", "digits stay text, leading zeros too"
    assert [str(a) for a in chart.staff["x"].accounts()] == ["telegram:7009", "zalo:e4ea5c"]
    assert chart.staff["ld"].zalo_id is None


def test_a_zalo_id_given_to_two_people_is_pinned_to_the_second() -> None:
    staff = (
        entry("id: x", "name: X", "roles: city_leader", "zalo_id: e4ea5c")
        + "\n"
        + entry("id: y", "name: Y", "roles: city_leader", "zalo_id: e4ea5c  # <- duplicate_zalo_id")
    )
    assert_issues_as_marked(org_yaml(staff=staff))


@pytest.mark.parametrize("value", ["0", "-1", "eight", "1:30", "'8'", ".inf", "[8]", "yes"])
def test_bad_acknowledge_hours(value: str) -> None:
    snippet = category("X", f"acknowledge_hours: {value}  # <- bad_acknowledge_hours")
    assert_issues_as_marked(org_yaml(categories=snippet))


@pytest.mark.parametrize("value", ["'true'", "1", "0", "maybe", "khẩn", "[true]"])
def test_bad_urgent(value: str) -> None:
    assert_issues_as_marked(org_yaml(categories=category("X", f"urgent: {value}  # <- bad_urgent")))


@pytest.mark.parametrize("value", ["-1", "1.5", "once", "'1'", "true", "1:00", "[1]"])
def test_bad_repeat(value: str) -> None:
    assert_issues_as_marked(org_yaml(categories=category("X", f"repeat: {value}  # <- bad_repeat")))


@pytest.mark.parametrize("value", ["-0.5", ".nan", "'2'", "2 days", "[2]"])
def test_bad_after_days(value: str) -> None:
    snippet = category(
        "X", *levels(f"- after_days: {value}  # <- bad_after_days", "  to: ward_leader")
    )
    assert_issues_as_marked(org_yaml(categories=snippet))


def test_city_leaders_target_needs_a_city_leader() -> None:
    """Every written ``to: city_leaders`` is pinned; the built-in default is not
    (the sweep falls back to the ward leader when there is no city leader)."""
    text = textwrap.dedent("""\
        areas:
          - code: XA
            name: Xã Một Mình
            kind: ward
            leader: ct
            children:
              - {code: THON1, name: Thôn 1, kind: group}
        defaults:
          escalation:
            - after_days: 0
              to: ward_leader
            - after_days: 2
              to: city_leaders  # <- no_city_leader_for_escalation
        categories:
          - code: KHAC
            name: Khác
            family: other
            resolve_days: 5
          - code: RAC
            name: Rác
            family: sanitation
            resolve_days: 2
            escalation: [{after_days: 1, to: City_Leaders}]  # <- no_city_leader_for_escalation
        staff:
          - {id: ct, name: Chủ tịch xã, roles: [ward_leader], wards: [XA]}
        """)
    assert_issues_as_marked(text)
    fixed = text.replace("City_Leaders", "ward_leader").replace(
        "to: city_leaders", "to: ward_leader"
    )
    assert parse_org(fixed).categories["KHAC"].escalation[1].target is EscalationTarget.WARD_LEADER


MINIMAL_CATEGORIES = "categories:\n  - {code: K, name: Khác, family: other, resolve_days: 5}\n"
MINIMAL_AREAS = "areas:\n  - {code: G, name: Tổ, kind: zone}  # <- not_under_ward\n"

WHOLE_FILES = [
    pytest.param("", id="empty-file"),  # checked separately: no line to mark
    pytest.param("- a  # <- not_a_mapping\n- b\n", id="list-at-top"),
    pytest.param("areas: []  # <- no_areas\n" + MINIMAL_CATEGORIES, id="no-areas"),
    pytest.param(MINIMAL_CATEGORIES.replace("\n", "  # <- no_areas\n", 1), id="areas-missing"),
    pytest.param(MINIMAL_AREAS + "categories: []  # <- no_categories\n", id="no-categories"),
    pytest.param("areas: {code: X}  # <- expected_list\n" + MINIMAL_CATEGORIES, id="areas-map"),
    pytest.param(
        "areas:\n  - code: W\n    name: x\n   kind: ward  # <- yaml_syntax\n", id="bad-indent"
    ),
    pytest.param("areas:\n  - code: W\n\tname: x  # <- yaml_syntax\n", id="tab"),
    pytest.param(
        "areas:\n  - code: W\n    name x  # <- yaml_missing_colon\n  - code: G\n",
        id="missing-colon",
    ),
    pytest.param("areas: [a, b  # <- yaml_syntax\n\n", id="unclosed-bracket"),
    pytest.param("areas:\n  - name: 'Tổ 1  # <- yaml_syntax\n    kind: group\n", id="open-quote"),
    pytest.param("staff: &s []\nareas: *s  # <- yaml_alias\n", id="alias"),
    pytest.param("areas:\n  - code: W\x07  # <- yaml_syntax\n", id="control-character"),
    pytest.param("areas: []\n---  # <- yaml_syntax\nareas: []\n", id="two-documents"),
]


@pytest.mark.parametrize("text", WHOLE_FILES)
def test_whole_file_mistakes(text: str) -> None:
    if not text:
        assert [(i.line, i.key) for i in issues_of(text)] == [(1, "org.empty_file")]
    else:
        assert_issues_as_marked(text)


def test_absurd_nesting_is_an_issue_not_a_crash() -> None:
    (issue,) = issues_of("areas: " + "[" * 3000 + "]" * 3000)
    assert (issue.line, issue.key) == (0, "org.yaml_syntax")


def test_issues_are_sorted_by_line_not_by_section() -> None:
    """Staff comes first in this file, but is checked after the areas."""
    text = (
        "staff:\n"
        "  - {id: ld, name: L, roles: [ward_leader], wards: [W]}\n"
        "  - {id: cb, name: C, roles: [wizard], wards: [W]}  # <- unknown_role\n"
        "categories:\n"
        "  - {code: K, name: K, family: other, resolve_days: 5}\n"
        "areas:\n"
        "  - code: W\n"
        "    name: P\n"
        "    kind: ward\n"
        "    leader: ld\n"
        "    children:\n"
        "      - {code: G, name: T, kind: group, leader: ld}  # <- leader_not_on_ward\n"
        "  - {code: G2, name: T, kind: group}  # <- not_under_ward\n"
    )
    issues = issues_of(text)
    assert [(i.line, i.key) for i in issues] == marked(text)


def test_issue_params_name_the_culprit() -> None:
    text = org_yaml(assignments=entry("area: G1", "categories: [RAC]", "cadre: cb2"))
    (issue,) = issues_of(text)
    assert issue.params == {"staff": "cb2", "ward": "W"}
    text = org_yaml(in_ward=group("G1"))
    (issue,) = issues_of(text)
    first = text.splitlines().index("              - code: G1") + 1
    assert issue.params == {"code": "G1", "first_line": str(first)}


# ------------------------------------------------------------- load_org_file


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(OrgChartInvalid) as caught:
        load_org_file(tmp_path / "nope.yaml")
    (issue,) = caught.value.issues
    assert (issue.line, issue.key, issue.params["path"]) == (
        0,
        "org.file_missing",
        str(tmp_path / "nope.yaml"),
    )


def test_load_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    # Saved in the old Vietnamese Windows code page instead of UTF-8.
    path.write_bytes("areas:\n  - code: HK\n    name: Hà Khánh\n".encode("cp1258"))
    with pytest.raises(OrgChartInvalid) as caught:
        load_org_file(path)
    assert [(i.line, i.key) for i in caught.value.issues] == [(3, "org.file_not_utf8")]


def test_load_accepts_bom(tmp_path: Path) -> None:
    path = tmp_path / "org.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + org_yaml().encode())
    assert "G3" in load_org_file(path).areas


# --------------------------------------------------------------- catalogues


def test_catalogues_cover_every_key_with_the_same_placeholders() -> None:
    # Every module of the YAML reader (the CSV reader has its own test).
    readers = sorted((ROOT / "bot" / "orgio").glob("*.py"))
    source = "".join(p.read_text("utf-8") for p in readers if p.name != "csvfiles.py")
    used = set(re.findall(r'"(org\.[a-z0-9_]+)"', source))
    assert set(CATALOGUES["vi"]) == used
    assert set(CATALOGUES["en"]) == used
    for key in used:
        assert placeholders(CATALOGUES["vi"][key]) == placeholders(CATALOGUES["en"][key]), key
        assert not CATALOGUES["vi"][key].lower().startswith("dòng"), key


# ----------------------------------------------------- templates and active staff


def test_the_example_carries_reply_templates_and_active_staff(example: OrgChart) -> None:
    lcvh = example.categories["LCVH"]
    assert lcvh.acknowledge_templates == ("Đã tiếp nhận, tổ công tác sẽ kiểm tra trong ngày.",)
    assert lcvh.resolve_templates[1] == "Đã lập biên bản, yêu cầu tháo dỡ."
    assert example.categories["RKTG"].resolve_templates == ()
    assert all(member.active for member in example.staff.values())


@pytest.mark.parametrize(
    ("snippet", "key"),
    [
        ("    templates: [a, b]\n", "org.expected_mapping"),
        ("    templates:\n      acknowledge: [ok]\n      reply: [x]\n", "org.unknown_key"),
        ("    templates:\n      resolve:\n        - " + "x" * 201 + "\n", "org.bad_template"),
        (
            "    templates:\n      resolve: [" + ", ".join(f"t{n}" for n in range(9)) + "]\n",
            "org.too_many_templates",
        ),
    ],
)
def test_bad_templates_are_reported(snippet: str, key: str) -> None:
    base = EXAMPLE.read_text(encoding="utf-8")
    anchor = "    family: urban_order\n    resolve_days: 5\n"
    broken = base.replace(anchor, anchor + snippet, 1)
    keys = [issue.key for issue in issues_of(broken)]
    assert key in keys


def test_a_staff_member_can_be_marked_inactive() -> None:
    base = EXAMPLE.read_text(encoding="utf-8")
    anchor = "    telegram_id: 7013\n"
    assert (
        parse_org(base.replace(anchor, anchor + "    active: false\n")).staff["cb-hh-mt"].active
        is False
    )
    keys = [i.key for i in issues_of(base.replace(anchor, anchor + "    active: maybe\n"))]
    assert keys == ["org.bad_active"]


def test_a_ward_says_where_to_turn_with_what_is_not_its_remit(example: OrgChart) -> None:
    """`refer_to:` on a ward (issue 14 §3): kept as written, exported again;
    a ward without it says nothing of its own (the catalogue advises)."""
    assert example.wards["HONGHAI"].refer_to.startswith("Bộ phận một cửa UBND phường Hồng Hải")
    assert example.wards["BACHDANG"].refer_to == ""
    assert parse_org(dump_org(example)).wards == example.wards


# ----------------------------------------------------- the ward's own words (issue 17)


def test_the_example_gives_problems_words_of_the_ward_s_own(example: OrgChart) -> None:
    assert example.categories["RTPT"].words == ("xà bần", "phế thải xây dựng")
    assert example.categories["LCVH"].words == ()
    again = parse_org(dump_org(example))
    assert again.categories == example.categories, "exported and read again, the words stay"


def test_words_may_be_one_a_line_or_a_lone_one() -> None:
    chart = parse_org(
        org_yaml(
            categories="\n".join(
                [
                    category("A", "words:", "  - xà  bần", "  - phế thải xây dựng"),
                    category("B", "words: karaoke"),
                    category("C", "words:"),
                ]
            )
        )
    )
    assert chart.categories["A"].words == ("xà bần", "phế thải xây dựng")
    assert chart.categories["B"].words == ("karaoke",)
    assert chart.categories["C"].words == ()


def test_a_word_empty_too_short_or_given_twice_is_pinned_to_its_line() -> None:
    assert_issues_as_marked(
        org_yaml(
            categories="\n".join(
                [
                    category(
                        "A",
                        "words:",
                        '  - ""  # <- empty_word',
                        "  - x  # <- bad_word",
                        "  - 3  # <- bad_word",
                        "  - xà bần",
                        "  - " + "dài " * 20 + " # <- bad_word",
                    ),
                    # The same word without diacritics is the same word.
                    category("B", "words: [đổ xà bần, Xa Ban]  # <- duplicate_word"),
                    category("C", "words:", "  - karaoke", "  - KARAOKE  # <- duplicate_word"),
                ]
            )
        )
    )


def test_a_word_given_twice_names_the_problem_and_line_it_was_given_first() -> None:
    text = org_yaml(
        categories="\n".join([category("A", "words: [xà bần]"), category("B", "words: [xa ban]")])
    )
    (issue,) = issues_of(text)
    first = next(n for n, line in enumerate(text.splitlines(), 1) if "words: [xà bần]" in line)
    assert issue.params == {"word": "xa ban", "code": "A", "first_line": str(first)}


def test_a_ward_whose_every_leader_is_inactive_is_refused_on_its_leader_line() -> None:
    """Bạch Đằng's only leader marked active: false: nobody would receive
    what no cadre is assigned, nor what runs late (`phananh staff
    deactivate` refuses the same)."""
    base = EXAMPLE.read_text(encoding="utf-8")
    anchor = "    telegram_id: 7051\n"
    issues = issues_of(base.replace(anchor, anchor + "    active: false\n"))
    assert [(i.key, i.params) for i in issues] == [
        ("org.ward_leaders_inactive", {"ward": "BACHDANG", "staff": "ld-bd-ct"})
    ]
    assert issues[0].line == _line_of(base, "leader: ld-bd-ct")


def test_a_ward_keeping_another_active_leader_may_mark_its_leader_inactive() -> None:
    base = EXAMPLE.read_text(encoding="utf-8")
    anchor = "    telegram_id: 7001\n"
    chart = parse_org(base.replace(anchor, anchor + "    active: false\n"))
    assert chart.staff["ld-hh-ct"].active is False


def test_city_leaders_all_inactive_are_refused() -> None:
    base = EXAMPLE.read_text(encoding="utf-8")
    inactive = base
    for anchor in ("    telegram_id: 7091\n", "    telegram_id: 7092\n"):
        inactive = inactive.replace(anchor, anchor + "    active: false\n")
    assert [i.key for i in issues_of(inactive)] == ["org.city_leaders_inactive"]
    one_left = base.replace("    telegram_id: 7091\n", "    telegram_id: 7091\n    active: false\n")
    assert parse_org(one_left).staff["ld-tp-bt"].active is False


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_names_reach_cards_without_invisible_or_control_characters() -> None:
    """A bidi override, a zero-width space or a control character in a
    member's, an area's or a problem's name would reorder or forge the lines
    of task cards, the dashboard and digests: removed on import; a name of
    nothing visible is refused on its line."""
    chart = parse_org(
        org_yaml(
            in_ward=group("G9").replace("name: Tổ G9", 'name: "Tổ\\u200b  9\\u202e"'),
            categories=category("XB").replace(
                "name: Lĩnh vực XB", 'name: "\\u2066Xà\\x07 bần\\u2069"\n  name_en: "Rubble\\u200f"'
            ),
            staff=entry(
                "id: cb9", 'name: "\\u202eNguyễn Văn\\tBa\\u202c"', "roles: [cadre]", "wards: [W]"
            ),
        )
    )
    assert chart.areas["G9"].name == "Tổ 9"
    assert (chart.categories["XB"].name, chart.categories["XB"].name_en) == ("Xà bần", "Rubble")
    assert chart.staff["cb9"].name == "Nguyễn Văn Ba"
    assert_issues_as_marked(
        org_yaml(
            in_ward=group("G9").replace(
                "name: Tổ G9", 'name: "\\u200b\\u2066"  # <- invisible_name'
            ),
            staff=entry(
                "id: cb9",
                'name: "\\u202e\\x07"  # <- invisible_name',
                "roles: [cadre]",
                "wards: [W]",
            ),
        )
    )


def test_invisible_characters_in_codes_and_references_are_dropped() -> None:
    """ "G9" followed by a zero-width space was "not a valid code", and a
    leader written with one "no such staff member"."""
    chart = parse_org(
        org_yaml(
            in_ward=group("G9").replace("code: G9", 'code: "G9\\u200b"'),
            staff=entry("id: cb9", "name: Ba", "roles: [cadre]", 'wards: ["\\u200eW"]'),
        )
    )
    assert "G9" in chart.areas
    assert chart.staff["cb9"].wards == ("W",)
    assert_issues_as_marked(
        org_yaml(
            staff=entry(
                "id: cb9",
                "name: Ba",
                "roles: [cadre]",
                'wards: ["\\u200b"]  # <- missing_field staff_without_wards',
            )
        )
    )

"""Staff and assignments from CSV files: the examples give the same chart as
the YAML alone, the spreadsheet variants a clerk's Excel writes are read,
and every mistake is reported with its file and line.

Rows carry their expected issues after ``  <- ``, like the YAML snippets of
``test_orgfile.py``, so the expected lines can never drift from the text.
"""

from __future__ import annotations

import re
import string
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import i18n
from bot.domain.orgchart import OrgChart, Role
from bot.orgio.csvfiles import (
    describe_issue,
    parse_assignments_csv,
    parse_staff_csv,
    read_staff_csv,
)
from bot.orgio.reader import OrgChartInvalid, OrgIssue, load_org_file

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
EXAMPLE_YAML = EXAMPLES / "org.yaml"
EXAMPLE_STAFF = EXAMPLES / "staff.csv"
EXAMPLE_ASSIGNMENTS = EXAMPLES / "assignments.csv"

# A two-ward chart with no staff and no assignments: the CSV files give them.
BASE_YAML = """\
areas:
  - code: C
    name: Thành phố C
    kind: city
    children:
      - code: W
        name: Phường W
        kind: ward
        leader: ld
        children:
          - {code: G1, name: Tổ 1, kind: group}
          - {code: G2, name: Tổ 2, kind: group}
      - code: W2
        name: Phường W2
        kind: ward
        leader: ld2
        children:
          - {code: G3, name: Tổ 3, kind: group}
categories:
  - {code: RAC, name: Rác thải, family: sanitation, resolve_days: 2}
  - {code: LCVH, name: Lấn chiếm vỉa hè, family: urban_order, resolve_days: 5}
  - {code: TDCB, name: Thái độ cán bộ, family: official_conduct, resolve_days: 15}
"""

STAFF_HEADER = "Mã cán bộ,Họ và tên,Vai trò,Phường,Telegram ID"
STAFF_ROWS = (
    "ld,Chủ tịch W,lãnh đạo phường,W,7001",
    "ld2,Chủ tịch W2,lãnh đạo phường,W2,",
    "cb,Cán bộ W,cán bộ,W,7002",
    "cb2,Cán bộ W2,cán bộ,W2,",
    "tp,Lãnh đạo thành phố,lãnh đạo thành phố,,",
)
ASSIGNMENTS_HEADER = "Địa bàn,Lĩnh vực,Cán bộ"
ASSIGNMENTS_ROWS = (
    'W,"RAC, LCVH",cb',
    "G3,RAC,cb2",
)

MARK = "  <- "


@dataclass(frozen=True)
class Files:
    """The files of one case, and the issues their rows are marked with."""

    yaml: Path
    staff: Path | None
    assignments: Path | None
    expected: list[tuple[str, int, str]]

    def load(self) -> OrgChart:
        return load_org_file(self.yaml, staff_csv=self.staff, assignments_csv=self.assignments)

    def issues(self) -> list[OrgIssue]:
        with pytest.raises(OrgChartInvalid) as caught:
            self.load()
        return caught.value.issues


def csv_text(
    header: str, rows: tuple[str, ...], name: str
) -> tuple[str, list[tuple[str, int, str]]]:
    """The file's text without markers, and the (file, line, key) they ask for."""
    lines: list[str] = []
    expected: list[tuple[str, int, str]] = []
    for number, row in enumerate((header, *rows), start=1):
        text, _, keys = row.partition(MARK)
        lines.append(text)
        expected.extend((name, number, key) for key in keys.split())
    return "\n".join(lines) + "\n", expected


def files(
    tmp_path: Path,
    *,
    yaml: str = BASE_YAML,
    staff: tuple[str, ...] | None = STAFF_ROWS,
    staff_header: str = STAFF_HEADER,
    assignments: tuple[str, ...] | None = ASSIGNMENTS_ROWS,
    assignments_header: str = ASSIGNMENTS_HEADER,
) -> Files:
    yaml_path = tmp_path / "org.yaml"
    yaml_path.write_text(yaml, encoding="utf-8")
    expected: list[tuple[str, int, str]] = []
    paths: dict[str, Path | None] = {"staff.csv": None, "assignments.csv": None}
    for name, header, rows in (
        ("staff.csv", staff_header, staff),
        ("assignments.csv", assignments_header, assignments),
    ):
        if rows is None:
            continue
        text, marked = csv_text(header, rows, name)
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        paths[name] = path
        expected += marked
    return Files(yaml_path, paths["staff.csv"], paths["assignments.csv"], expected)


def where(issue: OrgIssue) -> tuple[str, int, str]:
    return (Path(issue.source).name if issue.source else "", issue.line, issue.key)


def placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def assert_issues_as_marked(case: Files) -> list[OrgIssue]:
    issues = case.issues()
    assert sorted(where(i) for i in issues) == sorted(case.expected)
    for issue in issues:
        # Every issue renders in both languages with exactly its params.
        for lang in i18n.LANGUAGES:
            message = i18n.catalogue(lang)[issue.key]
            assert placeholders(message) == set(issue.params), issue
            assert describe_issue(issue, lang)
    return issues


# ------------------------------------------------------------- the examples


@pytest.fixture(scope="module")
def from_yaml() -> OrgChart:
    return load_org_file(EXAMPLE_YAML)


def test_example_csv_files_give_the_same_chart_as_the_yaml(from_yaml: OrgChart) -> None:
    chart = load_org_file(
        EXAMPLE_YAML, staff_csv=EXAMPLE_STAFF, assignments_csv=EXAMPLE_ASSIGNMENTS
    )
    assert chart == from_yaml
    # Same order too: people see lists in file order.
    assert list(chart.staff) == list(from_yaml.staff)
    assert list(chart.assignments) == list(from_yaml.assignments)
    assert len(chart.staff) == 13 and len(chart.assignments) == 17


def test_the_yaml_may_leave_out_what_the_csv_files_give(
    from_yaml: OrgChart, tmp_path: Path
) -> None:
    text = EXAMPLE_YAML.read_text("utf-8")
    staff_at, assignments_at = text.index("\nstaff:\n"), text.index("\nassignments:\n")
    family_at = text.index("\nfamily_defaults:\n")
    assert staff_at < assignments_at < family_at
    short = tmp_path / "org.yaml"
    short.write_text(text[:staff_at] + text[family_at:], encoding="utf-8")
    chart = load_org_file(short, staff_csv=EXAMPLE_STAFF, assignments_csv=EXAMPLE_ASSIGNMENTS)
    assert chart == from_yaml


def test_each_csv_replaces_only_its_own_section(from_yaml: OrgChart, tmp_path: Path) -> None:
    """A staff CSV replaces ``staff:`` even when the YAML's is broken, and the
    YAML's ``assignments:`` are still read."""
    text = EXAMPLE_YAML.read_text("utf-8").replace(
        "\nstaff:\n", "\nstaff:\n  - id: not valid at all\n    wizard: yes\n"
    )
    broken = tmp_path / "org.yaml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(OrgChartInvalid):
        load_org_file(broken)
    assert load_org_file(broken, staff_csv=EXAMPLE_STAFF) == from_yaml
    assert load_org_file(EXAMPLE_YAML, assignments_csv=EXAMPLE_ASSIGNMENTS) == from_yaml


def test_example_files_are_what_excel_writes() -> None:
    for path in (EXAMPLE_STAFF, EXAMPLE_ASSIGNMENTS):
        data = path.read_bytes()
        # A BOM, so Excel reads UTF-8; semicolons, as Excel with Vietnamese settings writes.
        assert data.startswith(b"\xef\xbb\xbf")
        header = data.decode("utf-8-sig").splitlines()[0]
        assert ";" in header and "," not in header


def test_without_csv_files_nothing_changes(from_yaml: OrgChart) -> None:
    assert load_org_file(EXAMPLE_YAML, staff_csv=None, assignments_csv=None) == from_yaml
    # Callers that build issues without a file keep working.
    assert OrgIssue(3, "org.unknown_area", {"code": "X"}).source == ""


# ---------------------------------------------------------------- variants


def example_staff_text() -> str:
    return EXAMPLE_STAFF.read_text("utf-8-sig")


def to_commas(text: str) -> str:
    """The same table, comma-separated: cells with a comma get quoted."""
    out = []
    for line in text.splitlines():
        cells = [f'"{c}"' if "," in c else c for c in line.split(";")]
        out.append(",".join(cells))
    return "\n".join(out) + "\n"


def without_diacritics(text: str) -> str:
    header, _, rest = text.partition("\n")
    plain = "Ma can bo;HO VA TEN;vai tro;Phuong;telegram_id;ghi chu"
    assert len(plain.split(";")) == len(header.split(";"))
    return plain + "\n" + rest


def english_headers(text: str) -> str:
    _, _, rest = text.partition("\n")
    return "id;Name;Roles;Wards;Telegram ID;Note\n" + rest


def shuffled_columns(text: str) -> str:
    """Columns in another order, with a leading STT column as spreadsheets have."""
    out = []
    for number, line in enumerate(text.splitlines()):
        cells = line.split(";")
        first = "STT" if number == 0 else str(number)
        out.append(";".join([first, cells[4], cells[2], cells[0], cells[3], cells[1], cells[5]]))
    return "\n".join(out) + "\n"


def english_roles(text: str) -> str:
    for vi, en in (
        ("lãnh đạo thành phố", "city_leader"),
        ("lãnh đạo phường", "Ward Leader"),
        (";cán bộ;", ";CADRE;"),
    ):
        text = text.replace(vi, en)
    return text


VARIANTS: dict[str, Callable[[str], bytes]] = {
    "semicolons-with-bom": lambda text: ("\ufeff" + text).encode(),
    "semicolons-no-bom": lambda text: text.encode(),
    "commas-with-bom": lambda text: ("\ufeff" + to_commas(text)).encode(),
    "commas-crlf": lambda text: to_commas(text).replace("\n", "\r\n").encode(),
    "tabs": lambda text: text.replace(";", "\t").encode(),
    "headers-without-diacritics": lambda text: without_diacritics(text).encode(),
    "english-headers": lambda text: english_headers(text).encode(),
    "english-roles": lambda text: english_roles(text).encode(),
    "columns-shuffled-with-stt": lambda text: shuffled_columns(text).encode(),
    "decomposed-unicode-and-blank-rows": lambda text: (
        "\n" + unicodedata.normalize("NFD", text).replace("\n", "\n;;;;;\n", 2) + "\n\n"
    ).encode(),
    "padded-cells": lambda text: text.replace(";", " ; ").replace("\n", ";;\n").encode(),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_spreadsheet_variants_give_the_same_staff(
    variant: str, from_yaml: OrgChart, tmp_path: Path
) -> None:
    path = tmp_path / "staff.csv"
    path.write_bytes(VARIANTS[variant](example_staff_text()))
    chart = load_org_file(EXAMPLE_YAML, staff_csv=path)
    assert chart.staff == from_yaml.staff
    assert list(chart.staff) == list(from_yaml.staff)


def test_several_values_in_one_cell(tmp_path: Path) -> None:
    staff = (
        *STAFF_ROWS,
        'both,Hai vai trò,"cán bộ; lãnh đạo phường","W, W2",',
        "piped,Ba phường,cán bộ|lãnh đạo phường,W|W2|W,",
    )
    assignments = (*ASSIGNMENTS_ROWS, "G1,TDCB|RAC|LCVH,both  <- org.conduct_not_assignable")
    case = files(tmp_path, staff=staff, assignments=assignments)
    assert_issues_as_marked(case)
    case = files(tmp_path, staff=staff, assignments=(*ASSIGNMENTS_ROWS, "G2,RAC|LCVH,piped"))
    chart = case.load()
    for member in ("both", "piped"):
        assert chart.staff[member].roles == {Role.CADRE, Role.WARD_LEADER}
        assert chart.staff[member].wards == ("W", "W2")
    assert chart.assignments[("G2", "LCVH")] == "piped"
    assert chart.assignments[("W", "LCVH")] == "cb"


ZALO_HEADER = STAFF_HEADER + ",Zalo ID"


def test_a_zalo_id_column_gives_each_member_their_zalo_account(tmp_path: Path) -> None:
    staff = (
        "ld,Chủ tịch W,lãnh đạo phường,W,7001,e4ea5c",
        *(row + "," for row in STAFF_ROWS[1:-1]),
        STAFF_ROWS[-1] + ",0012ab",
    )
    chart = files(tmp_path, staff=staff, staff_header=ZALO_HEADER).load()
    assert (chart.staff["ld"].telegram_id, chart.staff["ld"].zalo_id) == (7001, "e4ea5c")
    assert chart.staff["tp"].zalo_id == "0012ab", "as written, leading zeros too"
    assert chart.staff["cb"].zalo_id is None


def test_zalo_id_mistakes_are_pinned_to_their_row(tmp_path: Path) -> None:
    staff = (
        *(row + "," for row in STAFF_ROWS),
        "cb3,Ba,cán bộ,W,,e4ea5c",
        "cb4,Bốn,cán bộ,W,,e4ea5c  <- org.duplicate_zalo_id",
        "cb5,Năm,cán bộ,W,,có dấu  <- org.bad_zalo_id",
        "cb6,Sáu,cán bộ,W,,a b  <- org.bad_zalo_id",
        # What Excel shows of a long Zalo id taken for a number.
        "cb7,Bảy,cán bộ,W,,8.42435E+18  <- orgcsv.zalo_id_as_number",
        'cb8,Tám,cán bộ,W,,"8,42435E+18"  <- orgcsv.zalo_id_as_number',
    )
    issues = assert_issues_as_marked(files(tmp_path, staff=staff, staff_header=ZALO_HEADER))
    duplicate = next(i for i in issues if i.key == "org.duplicate_zalo_id")
    assert describe_issue(duplicate, "vi") == (
        f"{duplicate.source}, dòng 8: Mã Zalo e4ea5c đã được gán cho cán bộ “cb3”."
    )


def test_a_quoted_cell_may_hold_the_separator_and_a_line_break(tmp_path: Path) -> None:
    staff = (
        *STAFF_ROWS,
        '"cb3","Nguyễn Văn ""Ba"", tổ trưởng',
        'tổ 2",cán bộ,W,',
        "cb4,Bốn,cán bộ,W,x  <- orgcsv.bad_telegram_id",
    )
    issues = assert_issues_as_marked(files(tmp_path, staff=staff))
    assert len(issues) == 1
    chart = files(tmp_path, staff=staff[:-1]).load()
    # A name is one line on a card: the cell's line break reads as a space.
    assert chart.staff["cb3"].name == 'Nguyễn Văn "Ba", tổ trưởng tổ 2'


# ---------------------------------------------------------------- mistakes

# Each case: (staff rows, assignment rows), marked with the issues they cause.
MISTAKES = [
    pytest.param(
        (
            *STAFF_ROWS,
            "cb3,,cán bộ,W,  <- orgcsv.empty_cell",
            ",Không mã,cán bộ,W,  <- orgcsv.empty_cell",
        ),
        ASSIGNMENTS_ROWS,
        id="empty-name-and-id",
    ),
    pytest.param(
        (*STAFF_ROWS, "cb3,Ba,,W,  <- orgcsv.empty_cell"),
        ASSIGNMENTS_ROWS,
        id="empty-roles",
    ),
    pytest.param(
        (*STAFF_ROWS, "cb3,Ba,cán bộ; thủ quỹ,W,  <- orgcsv.unknown_role"),
        ASSIGNMENTS_ROWS,
        id="unknown-role",
    ),
    pytest.param(
        (
            *STAFF_ROWS,
            "cb3,Ba,cán bộ,W,abc  <- orgcsv.bad_telegram_id",
            "cb4,Bốn,cán bộ,W,0  <- orgcsv.bad_telegram_id",
            "cb5,Năm,cán bộ,W,-7  <- orgcsv.bad_telegram_id",
            "cb6,Sáu,cán bộ,W,7.00E+09  <- orgcsv.bad_telegram_id",
            "cb7,Bảy,cán bộ,W,70.5  <- orgcsv.bad_telegram_id",
        ),
        ASSIGNMENTS_ROWS,
        id="bad-telegram-ids",
    ),
    pytest.param(
        (
            *STAFF_ROWS,
            "cb3,Nguyễn Văn Ba, tổ trưởng,cán bộ,W,  <- orgcsv.wrong_cell_count",
            "cb4,Bốn,cán bộ,W  <- orgcsv.wrong_cell_count",
            "cb5,Năm,cán bộ,W,,  <- orgcsv.wrong_cell_count",
        ),
        (*ASSIGNMENTS_ROWS, "G1,RAC  <- orgcsv.wrong_cell_count"),
        id="wrong-cell-count",
    ),
    pytest.param(
        (*STAFF_ROWS, "cb3,Ba,cán bộ,,  <- orgcsv.staff_without_wards"),
        ASSIGNMENTS_ROWS,
        id="cadre-without-ward",
    ),
    pytest.param(
        (*STAFF_ROWS, "cb 3,Ba,cán bộ,W,  <- org.bad_code"),
        ASSIGNMENTS_ROWS,
        id="bad-staff-code",
    ),
    pytest.param(
        (
            *STAFF_ROWS,
            "cb,Trùng mã,cán bộ,W,  <- org.duplicate_staff",
            "cb3,Trùng Telegram,cán bộ,W,7002  <- org.duplicate_telegram_id",
        ),
        ASSIGNMENTS_ROWS,
        id="duplicates",
    ),
    pytest.param(
        (*STAFF_ROWS, "cb3,Ba,cán bộ,W; XYZ; G1,  <- org.unknown_ward org.not_a_ward"),
        ASSIGNMENTS_ROWS,
        id="wards-that-are-not",
    ),
    pytest.param(
        STAFF_ROWS,
        (
            *ASSIGNMENTS_ROWS,
            "NOWHERE,RAC,cb  <- org.unknown_area",
            "C,RAC,cb  <- org.assignment_above_ward",
            "G1,XYZ,cb  <- org.unknown_category",
            "G1,TDCB,cb  <- org.conduct_not_assignable",
            "G1,RAC,nobody  <- org.unknown_staff",
            "G1,RAC,ld  <- org.not_a_cadre org.duplicate_assignment",
            "G2,RAC,cb2  <- org.cadre_not_in_ward",
            "W,RAC,cb  <- org.duplicate_assignment",
        ),
        id="assignment-checks",
    ),
    pytest.param(
        STAFF_ROWS,
        (
            *ASSIGNMENTS_ROWS,
            ",RAC,cb  <- orgcsv.empty_cell",
            "G1,,cb  <- orgcsv.empty_cell",
            "G2, ; |,cb  <- orgcsv.empty_cell",
            "G2,RAC,  <- orgcsv.empty_cell",
        ),
        id="assignment-empty-cells",
    ),
]


@pytest.mark.parametrize(("staff", "assignments"), MISTAKES)
def test_mistake_is_reported_with_its_file_and_line(
    staff: tuple[str, ...], assignments: tuple[str, ...], tmp_path: Path
) -> None:
    assert_issues_as_marked(files(tmp_path, staff=staff, assignments=assignments))


def test_issue_params_name_the_culprit(tmp_path: Path) -> None:
    staff = (*STAFF_ROWS, "cb,Trùng mã,cán bộ,W,  <- org.duplicate_staff")
    assignments = (*ASSIGNMENTS_ROWS, "W,LCVH,cb  <- org.duplicate_assignment")
    (dup_staff, dup_assignment) = assert_issues_as_marked(
        files(tmp_path, staff=staff, assignments=assignments)
    )
    assert dup_staff.params == {"id": "cb", "first_line": "4"}
    assert dup_assignment.params == {"area": "W", "category": "LCVH", "first_line": "2"}
    staff = (*STAFF_ROWS, "cb3,Ba,Tổ trưởng,W,  <- orgcsv.unknown_role")
    (unknown_role,) = assert_issues_as_marked(files(tmp_path, staff=staff))
    assert unknown_role.params == {"role": "Tổ trưởng"}


def test_yaml_checks_against_csv_staff_stay_on_the_yaml_line(tmp_path: Path) -> None:
    yaml = BASE_YAML.replace("leader: ld2", "leader: cb2  # <-")
    line = yaml.splitlines().index("        leader: cb2  # <-") + 1
    issues = files(tmp_path, yaml=yaml).issues()
    assert [where(i) for i in issues] == [("", line, "org.leader_not_ward_leader")]
    staff = tuple(row for row in STAFF_ROWS if not row.startswith("ld2,"))
    issues = files(tmp_path, staff=staff).issues()
    line = BASE_YAML.splitlines().index("        leader: ld2") + 1
    assert [where(i) for i in issues] == [("", line, "org.unknown_staff")]


def test_issues_come_file_by_file_yaml_first(tmp_path: Path) -> None:
    yaml = BASE_YAML.replace("resolve_days: 5}", "resolve_days: 0}")
    case = files(
        tmp_path,
        yaml=yaml,
        staff=(*STAFF_ROWS, "cb3,Ba,thủ quỹ,W,"),
        assignments=("G1,RAC,nobody", *ASSIGNMENTS_ROWS),
    )
    issues = case.issues()
    yaml_line = yaml.splitlines().index(
        "  - {code: LCVH, name: Lấn chiếm vỉa hè, family: urban_order, resolve_days: 0}"
    )
    assert [where(i) for i in issues] == [
        ("", yaml_line + 1, "org.bad_resolve_days"),
        ("staff.csv", 7, "orgcsv.unknown_role"),
        ("assignments.csv", 2, "org.unknown_staff"),
    ]
    assert [i.source for i in issues] == ["", str(case.staff), str(case.assignments)]


# ------------------------------------------------------- files and headers


HEADER_MISTAKES = [
    pytest.param(
        "Mã cán bộ,Họ và tên,Phường,Telegram ID  <- orgcsv.missing_column",
        tuple(",".join(r.split(",")[:2] + r.split(",")[3:]) for r in STAFF_ROWS),
        id="missing-column",
    ),
    pytest.param(
        "Mã cán bộ,Họ và tên,Vai trò,Telegram ID  <- orgcsv.missing_column",
        tuple(",".join(r.split(",")[:3] + r.split(",")[4:]) for r in STAFF_ROWS),
        id="missing-wards-column",
    ),
]


@pytest.mark.parametrize(("header", "rows"), HEADER_MISTAKES)
def test_a_missing_column_is_reported_alone(
    header: str, rows: tuple[str, ...], tmp_path: Path
) -> None:
    """Without the column no row can be checked, and the chart is not checked
    against the file: the YAML's leaders would all be "unknown staff"."""
    assert_issues_as_marked(files(tmp_path, staff=rows, staff_header=header))


def test_unknown_and_duplicate_columns(tmp_path: Path) -> None:
    header = (
        STAFF_HEADER + ",Chức vụ,Ghi chú,Vai trò  <- orgcsv.unknown_column orgcsv.duplicate_column"
    )
    rows = tuple(f"{row},Chủ tịch,ghi chú,cán bộ" for row in STAFF_ROWS)
    issues = assert_issues_as_marked(files(tmp_path, staff=rows, staff_header=header))
    unknown = next(i for i in issues if i.key == "orgcsv.unknown_column")
    assert unknown.params["column"] == "Chức vụ"
    assert unknown.params["allowed"].startswith("Mã cán bộ (id), Họ và tên (name), Vai trò")


def test_data_under_an_unnamed_column(tmp_path: Path) -> None:
    rows = (
        *(f"{row}," for row in STAFF_ROWS[:3]),
        f"{STAFF_ROWS[3]},lạc cột  <- orgcsv.unnamed_column",
        f"{STAFF_ROWS[4]},lạc nữa",  # reported once per column
    )
    (issue,) = assert_issues_as_marked(files(tmp_path, staff=rows, staff_header=STAFF_HEADER + ","))
    assert issue.params == {"number": "6"}


def test_assignment_header_mistakes(tmp_path: Path) -> None:
    case = files(
        tmp_path,
        assignments=("W,RAC,cb,x",),
        assignments_header="Địa bàn,Lĩnh vực,Cán bộ,Họ và tên  <- orgcsv.unknown_column",
    )
    assert_issues_as_marked(case)
    case = files(
        tmp_path,
        assignments=("W,RAC",),
        assignments_header="Dia ban,Linh vuc  <- orgcsv.missing_column",
    )
    (issue,) = assert_issues_as_marked(case)
    assert issue.params == {"column": "Cán bộ"}


@pytest.mark.parametrize(
    ("content", "line", "key"),
    [
        pytest.param(b"", 1, "orgcsv.empty_file", id="empty"),
        # The workbook itself (a zip) instead of its CSV: it said "not UTF-8".
        pytest.param(b"PK\x03\x04\x14\x00\x06\x00", 0, "orgcsv.workbook", id="xlsx"),
        pytest.param(b"\xef\xbb\xbf\r\n;;;\r\n", 1, "orgcsv.empty_file", id="only-blank-rows"),
        pytest.param(
            # Saved in the old Vietnamese Windows code page instead of UTF-8.
            "Ma can bo,Ho va ten,Vai tro,Phuong\nld,Hà Khánh,lanh dao phuong,W\n".encode("cp1258"),
            2,
            "orgcsv.wrong_encoding",
            id="not-utf8",
        ),
        pytest.param(
            (
                f"{STAFF_HEADER}\n"
                "ld,Chủ tịch,lãnh đạo phường,W,\n"
                '"cb,Cán bộ,cán bộ,W,\n'
                "cb2,x,cán bộ,W,\n"
            ).encode(),
            3,
            "orgcsv.bad_quotes",
            id="unclosed-quote",
        ),
        pytest.param(
            f'{STAFF_HEADER}\nld,"Chủ" tịch,lãnh đạo phường,W,\n'.encode(),
            2,
            "orgcsv.bad_quotes",
            id="text-after-quote",
        ),
    ],
)
def test_file_mistakes_are_reported_alone(
    content: bytes, line: int, key: str, tmp_path: Path
) -> None:
    case = files(tmp_path, assignments=(*ASSIGNMENTS_ROWS, "G1,RAC,nobody"))
    assert case.staff is not None
    case.staff.write_bytes(content)
    issues = case.issues()
    # The chart is not checked against an unusable staff file: the unknown
    # cadre in the assignments would be lost among the consequences.
    assert [where(i) for i in issues] == [("staff.csv", line, key)]


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nhân sự.csv"
    with pytest.raises(OrgChartInvalid) as caught:
        load_org_file(EXAMPLE_YAML, staff_csv=missing)
    (issue,) = caught.value.issues
    assert (issue.source, issue.line, issue.key) == (str(missing), 0, "org.file_missing")
    assert issue.params["path"] == str(missing)
    assert read_staff_csv(missing).usable is False


def test_parse_functions_work_on_text() -> None:
    text = STAFF_HEADER + "\n" + "\n".join(STAFF_ROWS) + "\n"
    read = parse_staff_csv(text, source="nhân sự.csv")
    assert read.usable and read.issues == []
    assert [r.id for r in read.records] == ["ld", "ld2", "cb", "cb2", "tp"]
    assert {r.source for r in read.records} == {"nhân sự.csv"}
    assert read.records[0].line == 2 and read.records[0].telegram_id == 7001
    read_a = parse_assignments_csv("Địa bàn;Lĩnh vực;Cán bộ\r\nW;RAC, LCVH;cb\r\n")
    assert read_a.issues == []
    (record,) = read_a.records
    assert (record.source, record.line, record.area, record.categories, record.cadre) == (
        "assignments.csv",
        2,
        "W",
        ("RAC", "LCVH"),
        "cb",
    )


# ------------------------------------------------------------ for the CLI


def test_describe_issue_names_the_file_and_line() -> None:
    csv_issue = OrgIssue(3, "orgcsv.empty_cell", {"column": "Họ và tên"}, "staff.csv")
    assert describe_issue(csv_issue, "vi") == "staff.csv, dòng 3: Ô “Họ và tên” đang trống."
    assert describe_issue(csv_issue, "en") == "staff.csv, line 3: The cell “Họ và tên” is empty."
    yaml_issue = OrgIssue(12, "org.unknown_area", {"code": "X"})
    assert describe_issue(yaml_issue, "vi") == "Dòng 12: Mã khu vực “X” không tồn tại."
    assert (
        describe_issue(yaml_issue, "vi", org_file="org.yaml")
        == "org.yaml, dòng 12: Mã khu vực “X” không tồn tại."
    )
    params = {"path": "a.csv", "reason": "No such file"}
    unreadable = OrgIssue(0, "org.file_unreadable", params, "a.csv")
    assert describe_issue(unreadable, "en") == i18n.t("en", "org.file_unreadable", **params)


def test_exception_summary_names_the_csv_file(tmp_path: Path) -> None:
    staff = (*STAFF_ROWS, "cb3,Ba,thủ quỹ,W,  <- orgcsv.unknown_role")
    with pytest.raises(OrgChartInvalid) as caught:
        files(tmp_path, staff=staff).load()
    assert f"{tmp_path / 'staff.csv'} line 7: orgcsv.unknown_role" in str(caught.value)


# ------------------------------------------------------------- catalogues


def test_catalogues_cover_every_csv_key_with_the_same_placeholders() -> None:
    source = (ROOT / "bot" / "orgio" / "csvfiles.py").read_text("utf-8")
    used = set(re.findall(r'"(orgcsv\.[a-z_]+)"', source))
    assert len(used) >= 11
    for lang in i18n.LANGUAGES:
        with (ROOT / "bot" / "locales" / f"{lang}.toml").open("rb") as f:
            table = tomllib.load(f)["orgcsv"]
        assert {f"orgcsv.{key}" for key in table} == used, lang
    vi, en = i18n.catalogue("vi"), i18n.catalogue("en")
    for key in used:
        assert placeholders(vi[key]) == placeholders(en[key]), key
    # The [org] keys this module reuses exist too.
    for key in set(re.findall(r'"(org\.[a-z_]+)"', source)):
        assert key in vi and key in en


def test_names_from_a_spreadsheet_reach_cards_clean(tmp_path: Path) -> None:
    """A bidi override, a zero-width space or a control character pasted
    into a name would reach the dashboard, task cards and digests: they are
    removed, and a name of nothing visible is refused on its row."""
    staff = (
        *STAFF_ROWS,
        "cb3,\u202eNguyễn\u200b  Văn\x07 Ba\u202c,cán bộ,W,",
        "cb4,\u200b\u2066\u00ad,cán bộ,W,  <- orgcsv.invisible_name",
    )
    assert_issues_as_marked(files(tmp_path, staff=staff))
    chart = files(tmp_path, staff=staff[:-1]).load()
    assert chart.staff["cb3"].name == "Nguyễn Văn Ba"


def test_a_code_written_in_another_case_names_the_code_to_write(tmp_path: Path) -> None:
    """A spreadsheet's "LD" for the YAML's "ld", a ward typed "w": each was
    "no such code", and the clerk looked for a code that was there."""
    staff = (
        "LD,Chủ tịch W,lãnh đạo phường,W,7001",
        *STAFF_ROWS[1:3],
        "cb2,Cán bộ W2,cán bộ,w2,  <- org.wrong_case",
        *STAFF_ROWS[4:],
    )
    yaml_line = BASE_YAML.splitlines().index("        leader: ld") + 1
    case = files(tmp_path, staff=staff, assignments=("G1,rac,cb  <- org.wrong_case",))
    case.expected.append(("", yaml_line, "org.wrong_case"))
    issues = assert_issues_as_marked(case)
    assert {(i.params["code"], i.params["match"]) for i in issues} == {
        ("ld", "LD"),
        ("w2", "W2"),
        ("rac", "RAC"),
    }


def test_a_member_pasted_twice_is_one_mistake(tmp_path: Path) -> None:
    """The same row twice said the id was taken and, on the same row, that
    the member's own Telegram id was another's."""
    staff = (*STAFF_ROWS, "cb,Cán bộ W,cán bộ,W,7002  <- org.duplicate_staff")
    assert_issues_as_marked(files(tmp_path, staff=staff))


def test_invisible_characters_in_codes_are_not_mistakes(tmp_path: Path) -> None:
    """A zero-width space or a bidi mark pasted after "cb3" or "W" made a
    code that reads right "not valid" or "no such ward"."""
    staff = (
        *STAFF_ROWS,
        "cb3\u200b,Lê\u00a0Thị  Ba,cán bộ,\u200eW\u200b,",
    )
    chart = files(tmp_path, staff=staff, assignments=(*ASSIGNMENTS_ROWS, "G2\u200b,RAC,cb3")).load()
    assert chart.staff["cb3"].wards == ("W",)
    assert chart.staff["cb3"].name == "Lê Thị Ba"
    assert chart.assignments[("G2", "RAC")] == "cb3"


def test_excels_unicode_text_is_read(tmp_path: Path) -> None:
    """Excel's "Unicode Text" (UTF-16 with its BOM, tab-separated), and a
    YAML Notepad saved as "Unicode": both were "not UTF-8"."""
    case = files(tmp_path)
    assert case.staff is not None
    text = "\r\n".join([STAFF_HEADER, *STAFF_ROWS]).replace(",", "\t")
    case.staff.write_bytes(text.encode("utf-16"))
    case.yaml.write_bytes(BASE_YAML.encode("utf-16"))
    assert case.load().staff.keys() == {"ld", "ld2", "cb", "cb2", "tp"}

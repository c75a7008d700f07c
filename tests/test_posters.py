"""QR posters: one A4 page per residential group, whose code opens the bot
with that group chosen, written in a font that has every Vietnamese letter."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image, ImageDraw, ImageFont

from bot import i18n
from bot.app.admin import AdminError
from bot.cli import main
from bot.domain.orgchart import OrgChart
from bot.orgio.reader import load_org_file, parse_org
from bot.report.posters import (
    A4_PIXELS,
    FONTS_DIR,
    PosterError,
    font,
    render_posters,
)
from handlers.telegram.links import TelegramLinks
from handlers.zalo.links import ZaloLinks
from tests.factories import load_chart

ROOT = Path(__file__).resolve().parents[1]
BOT = "PhanAnhHongHaiBot"
TELEGRAM = [TelegramLinks(BOT)]


def group_link(bot_username: str, group_code: str) -> str:
    return TelegramLinks(bot_username).start_report(group_code)


# Every letter Vietnamese adds to the Latin alphabet, both cases.
VIETNAMESE = "ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
VIETNAMESE += VIETNAMESE.upper()


@pytest.fixture(scope="module")
def chart() -> OrgChart:
    return load_org_file(ROOT / "examples" / "org.yaml")


@pytest.fixture(scope="module")
def png_posters(chart: OrgChart, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return render_posters(chart, "BACHDANG", TELEGRAM, tmp_path_factory.mktemp("png"), fmt="png")


def decode(path: Path) -> list[str]:
    with Image.open(path) as image:
        return [
            result.text
            for result in zxingcpp.read_barcodes(image)
            if result.format == zxingcpp.BarcodeFormat.QRCode
        ]


# ------------------------------------------------------------------ PNG


def test_one_poster_per_group_named_by_its_code(chart: OrgChart, png_posters: list[Path]) -> None:
    codes = [g.code for g in chart.groups("BACHDANG")]
    assert codes == ["BD-TDP01", "BD-TDP02", "BD-TDP03", "BD-TDP04"]
    assert [p.name for p in png_posters] == [f"{code}.png" for code in codes]
    assert all(p.is_file() for p in png_posters)


def test_png_is_a4_at_300_dpi(png_posters: list[Path]) -> None:
    with Image.open(png_posters[0]) as image:
        assert image.size == A4_PIXELS == (2480, 3508)
        dpi = image.info["dpi"]
    assert dpi == pytest.approx((300, 300), abs=0.01)
    # 2480 x 3508 px at 300 dpi is 210 x 297 mm.
    assert (round(2480 / 300 * 25.4), round(3508 / 300 * 25.4)) == (210, 297)


def test_each_code_opens_the_bot_with_its_group(chart: OrgChart, png_posters: list[Path]) -> None:
    for group, path in zip(chart.groups("BACHDANG"), png_posters, strict=True):
        assert decode(path) == [f"https://t.me/{BOT}?start=a-{group.code}"]
        assert decode(path) == [group_link(BOT, group.code)]


def test_a_leading_at_sign_is_dropped(chart: OrgChart, tmp_path: Path) -> None:
    links = [TelegramLinks(f"@{BOT}")]
    paths = render_posters(chart, "BACHDANG", links, tmp_path / "new" / "dir", fmt="png")
    assert decode(paths[0]) == [f"https://t.me/{BOT}?start=a-BD-TDP01"]


# ----------------------------------------------------------------- text


class DrawnText:
    """What ``ImageDraw.text`` was asked to write, and in which font."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ImageFont.FreeTypeFont]] = []

    def texts(self) -> list[str]:
        return [text for text, _ in self.calls]


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> DrawnText:
    spy = DrawnText()
    original = ImageDraw.ImageDraw.text

    def text(self: ImageDraw.ImageDraw, xy: Any, text: Any, *args: Any, **kwargs: Any) -> None:
        face = kwargs.get("font")
        assert isinstance(face, ImageFont.FreeTypeFont), "every text has an explicit font"
        spy.calls.append((str(text), face))
        original(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(ImageDraw.ImageDraw, "text", text)
    return spy


def test_the_poster_says_who_where_and_what_to_do(
    chart: OrgChart, tmp_path: Path, drawn: DrawnText
) -> None:
    render_posters(chart, "BACHDANG", TELEGRAM, tmp_path, fmt="png")
    texts = drawn.texts()
    # The group's code, small in a corner, is the last thing on each page.
    first = texts[: texts.index("BD-TDP01") + 1]
    joined = " ".join(first)
    assert "Phản Ánh" in first
    assert f"@{BOT} trên Telegram" in first
    assert "Tổ dân phố 1" in first
    assert "Phường Bạch Đằng" in first
    assert f"https://t.me/{BOT}?start=a-BD-TDP01" in first
    assert "BD-TDP02" not in first
    # The two lines from the catalogue, possibly wrapped.
    scan = i18n.t("vi", "poster.scan", group="Tổ dân phố 1")
    how = i18n.t("vi", "poster.how")
    assert scan.startswith("Quét mã") and scan.endswith("của tổ dân phố 1."), (
        "the group as named inside a sentence"
    )
    assert " ".join(scan.split()) in " ".join(joined.split())
    assert " ".join(how.split()) in " ".join(joined.split())


ZALO_BOT = "https://zalo.me/2468013579"


def test_with_the_zalo_bot_each_poster_shows_its_code_and_the_group_code_to_send(
    chart: OrgChart, tmp_path: Path, drawn: DrawnText
) -> None:
    links = [TelegramLinks(BOT), ZaloLinks(ZALO_BOT)]
    paths = render_posters(chart, "BACHDANG", links, tmp_path, fmt="png")
    for group, path in zip(chart.groups("BACHDANG"), paths, strict=True):
        assert sorted(decode(path)) == sorted([group_link(BOT, group.code), ZALO_BOT])
    texts = drawn.texts()
    first = texts[: texts.index("BD-TDP01") + 1]
    assert f"@{BOT} trên Telegram" in first
    assert f"{ZALO_BOT} trên Zalo" in first
    assert i18n.t("vi", "poster.send_code", channel="Zalo", code="BD-TDP01") in first
    assert "Zalo: nhắn “BD-TDP01” cho bot" in first


def test_a_channel_with_nothing_to_open_prints_what_to_send_alone(
    chart: OrgChart, tmp_path: Path, drawn: DrawnText
) -> None:
    paths = render_posters(chart, "BACHDANG", [TelegramLinks(BOT), ZaloLinks()], tmp_path)
    texts = drawn.texts()
    assert "Zalo: nhắn “BD-TDP01” cho bot" in texts
    assert len(paths) == 4


def test_every_text_is_drawn_in_the_shipped_dejavu(
    chart: OrgChart, tmp_path: Path, drawn: DrawnText
) -> None:
    render_posters(chart, "BACHDANG", TELEGRAM, tmp_path, fmt="png")
    shipped = {str(FONTS_DIR / "DejaVuSans.ttf"), str(FONTS_DIR / "DejaVuSans-Bold.ttf")}
    assert drawn.calls
    assert {face.path for _, face in drawn.calls} == shipped
    for text, face in drawn.calls:
        assert face.getmask(text).getbbox() is not None, text


def test_english_posters_use_the_english_catalogue(
    chart: OrgChart, tmp_path: Path, drawn: DrawnText
) -> None:
    render_posters(chart, "BACHDANG", TELEGRAM, tmp_path, fmt="png", language="en")
    joined = " ".join(" ".join(drawn.texts()).split())
    assert f"@{BOT} on Telegram" in joined
    assert "Scan the code to report" in joined
    assert "Quét mã" not in joined


def test_the_shipped_font_has_every_vietnamese_letter() -> None:
    regular, bold = font(80), font(80, bold=True)
    assert regular.path == str(FONTS_DIR / "DejaVuSans.ttf")
    assert bold.path == str(FONTS_DIR / "DejaVuSans-Bold.ttf")
    assert regular.getname() == ("DejaVu Sans", "Book")
    assert bold.getname() == ("DejaVu Sans", "Bold")
    assert (FONTS_DIR / "LICENSE_DEJAVU").read_text("utf-8").startswith("Fonts are (c) Bitstream")
    for face in (regular, bold):
        assert face.getmask("Tổ dân phố").getbbox() is not None
        # A letter the font lacks is drawn as the same empty box (.notdef).
        missing = bytes(face.getmask("\ue000"))
        assert bytes(face.getmask("a")) != missing
        assert bytes(face.getmask("中")) == missing  # the check can fail
        lacking = [ch for ch in VIETNAMESE if bytes(face.getmask(ch)) == missing]
        assert lacking == []


# ------------------------------------------------------------------ PDF


def test_pdf_is_one_a4_page(chart: OrgChart, tmp_path: Path) -> None:
    paths = render_posters(chart, "BACHDANG", TELEGRAM, tmp_path)
    assert [p.name for p in paths] == [f"BD-TDP0{n}.pdf" for n in range(1, 5)]
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(b"%PDF-")
        assert data.rstrip().endswith(b"%%EOF")
        assert len(re.findall(rb"/Type\s*/Page\b(?!s)", data)) == 1
        assert re.search(rb"/Count\s+1\b", data)
        (box,) = re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", data)
        # A4 is 595.28 x 841.89 points.
        assert (float(box[0]), float(box[1])) == pytest.approx((595.28, 841.89), abs=1)
        # Printable in black and white, and small enough to mail.
        assert len(data) < 200_000


# ------------------------------------------------------------- refusals


@pytest.mark.parametrize("ward", ["NOWHERE", "honghai"])
def test_unknown_ward_is_refused_naming_the_wards(
    chart: OrgChart, tmp_path: Path, ward: str
) -> None:
    with pytest.raises(PosterError) as caught:
        render_posters(chart, ward, TELEGRAM, tmp_path)
    known = ", ".join(chart.ward_codes())
    assert (caught.value.key, caught.value.params) == (
        "poster.unknown_ward",
        {"ward": ward, "known": known},
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", ["HH-TDP01", "HH-K1"])
def test_a_groups_code_for_the_ward_names_its_wards_code(
    chart: OrgChart, tmp_path: Path, code: str
) -> None:
    """The clerk typed the code printed on a group's poster: it said no such
    ward existed; it says whose it is and which ward's code to use."""
    with pytest.raises(PosterError) as caught:
        render_posters(chart, code, TELEGRAM, tmp_path)
    assert (caught.value.key, caught.value.params) == (
        "poster.area_of_ward",
        {"ward": code, "name": chart.areas[code].name, "parent": "HONGHAI"},
    )
    assert list(tmp_path.iterdir()) == []


def test_the_citys_code_for_the_ward_is_told_it_is_no_wards(
    chart: OrgChart, tmp_path: Path
) -> None:
    with pytest.raises(PosterError) as caught:
        render_posters(chart, "HALONG", TELEGRAM, tmp_path)
    assert caught.value.key == "poster.not_a_ward"
    assert caught.value.params["known"] == ", ".join(chart.ward_codes())


def test_posters_for_a_groups_code_say_on_the_command_line_which_ward(
    cli_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "posters"
    assert main(["posters", "--ward", "HH-TDP01", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        i18n.t("vi", "poster.area_of_ward", ward="HH-TDP01", name="Tổ dân phố 1", parent="HONGHAI")
    ]
    assert not out.exists()


def test_ward_without_groups_is_refused(tmp_path: Path) -> None:
    chart = parse_org(
        "areas:\n"
        "  - {code: XA, name: Xã Mới, kind: ward, leader: ct}\n"
        "categories:\n"
        "  - {code: K, name: Khác, family: other, resolve_days: 5}\n"
        "staff:\n"
        "  - {id: ct, name: Chủ tịch, roles: [ward_leader], wards: [XA]}\n"
    )
    with pytest.raises(PosterError) as caught:
        render_posters(chart, "XA", TELEGRAM, tmp_path)
    assert (caught.value.key, caught.value.params) == ("poster.no_groups", {"ward": "XA"})


@pytest.mark.parametrize("username", ["", "abc", "phan anh bot", "t.me/PhanAnhBot", "x" * 33])
def test_bad_bot_username_is_refused(chart: OrgChart, tmp_path: Path, username: str) -> None:
    with pytest.raises(AdminError) as caught:
        render_posters(chart, "BACHDANG", [TelegramLinks(username)], tmp_path)
    assert caught.value.key == "poster.bad_username"


@pytest.mark.parametrize(
    ("key", "params"),
    [
        ("poster.unknown_ward", {"ward": "X", "known": "A, B"}),
        ("poster.area_of_ward", {"ward": "X", "name": "Tổ 1", "parent": "W"}),
        ("poster.not_a_ward", {"ward": "X", "name": "Thành phố", "known": "A, B"}),
        ("poster.no_groups", {"ward": "X"}),
        ("poster.bad_username", {"username": "x"}),
    ],
)
def test_refusals_read_well_in_both_languages(key: str, params: dict[str, str]) -> None:
    for lang in i18n.LANGUAGES:
        assert "X" in i18n.t(lang, key, **params) or "x" in i18n.t(lang, key, **params)


def test_unknown_format_or_language_is_a_programming_error(chart: OrgChart, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        render_posters(chart, "BACHDANG", TELEGRAM, tmp_path, fmt="svg")
    with pytest.raises(ValueError, match="language"):
        render_posters(chart, "BACHDANG", TELEGRAM, tmp_path, language="fr")


# ------------------------------------------------- phananh posters --out


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, chart: OrgChart) -> Path:
    """The real command line's environment: the example chart in a database,
    the bot's name known, no other PHANANH_* variable."""
    for name in [n for n in os.environ if n.startswith("PHANANH_")]:
        monkeypatch.delenv(name)
    db = tmp_path / "posters.db"
    asyncio.run(load_chart(db, chart))
    monkeypatch.setenv("PHANANH_DB", str(db))
    monkeypatch.setenv("PHANANH_BOT_USERNAME", BOT)
    monkeypatch.chdir(tmp_path)
    return db


def _posters(out: Path, fmt: str = "png") -> int:
    return main(["posters", "--ward", "BACHDANG", "--out", str(out), "--format", fmt])


def test_posters_never_write_through_a_link_planted_in_the_folder(
    cli_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "posters"
    out.mkdir()
    victim = tmp_path / "elsewhere" / "ho-so.txt"
    victim.parent.mkdir()
    victim.write_text("hồ sơ quan trọng", encoding="utf-8")
    (out / "BD-TDP01.pdf").symlink_to(victim)
    (out / "BD-TDP02.pdf").symlink_to(tmp_path / "elsewhere" / "new-file")  # dangling

    assert _posters(out, "pdf") == 0

    assert capsys.readouterr().err == ""
    assert victim.read_text(encoding="utf-8") == "hồ sơ quan trọng", "the target is untouched"
    assert sorted(p.name for p in victim.parent.iterdir()) == ["ho-so.txt"], "nothing created"
    for name in ("BD-TDP01.pdf", "BD-TDP02.pdf"):
        poster = out / name
        assert not poster.is_symlink(), "the link was replaced by the poster"
        assert poster.read_bytes().startswith(b"%PDF")


def test_posters_show_the_zalo_bot_when_its_link_is_set(
    cli_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHANANH_ZALO_BOT_LINK", ZALO_BOT)
    out = tmp_path / "posters"
    assert _posters(out) == 0
    assert sorted(decode(out / "BD-TDP02.png")) == sorted([group_link(BOT, "BD-TDP02"), ZALO_BOT])


def test_a_zalo_only_office_prints_posters_without_a_telegram_bot(
    cli_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Telegram bot's name is known (Telegram is blocked; the office runs
    the Zalo bot alone): the posters show the Zalo bot and the group's code."""
    monkeypatch.delenv("PHANANH_BOT_USERNAME")
    monkeypatch.setenv("PHANANH_ZALO_BOT_LINK", ZALO_BOT)
    out = tmp_path / "posters"
    assert _posters(out) == 0
    assert decode(out / "BD-TDP02.png") == [ZALO_BOT]


def test_posters_written_again_replace_the_earlier_ones_and_leave_nothing_else(
    cli_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "posters"
    assert _posters(out) == 0
    (out / "BD-TDP01.png").write_bytes(b"old")
    assert _posters(out) == 0
    assert capsys.readouterr().out.splitlines()[-1] == i18n.t("vi", "cli.posters", count=4, out=out)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["BD-TDP01.png", "BD-TDP02.png", "BD-TDP03.png", "BD-TDP04.png"]
    assert decode(out / "BD-TDP01.png") == [group_link(BOT, "BD-TDP01")]
    assert (out / "BD-TDP01.png").stat().st_mode & 0o777 == 0o644, "a poster anyone may print"


def _unwritable(tmp_path: Path) -> Path:
    """A folder nobody may create files in: a read-only one, or, for root
    (whom permissions do not stop), one of the kernel's under /sys."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    folder = Path("/sys/kernel")
    try:
        tempfile.mkstemp(dir=folder)
    except PermissionError:
        return folder
    pytest.skip("no folder refuses root here")


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("case", ["existing file", "under a file", "unwritable", "long name"])
def test_a_folder_posters_cannot_go_to_is_one_clear_line(
    cli_db: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
    language: str,
) -> None:
    monkeypatch.setenv("PHANANH_DEFAULT_LANGUAGE", language)
    notes = tmp_path / "ghi-chu.txt"
    notes.write_text("ghi chú", encoding="utf-8")
    out, key, extra = {
        "existing file": (notes, "cli.out_is_file", {}),
        "under a file": (notes / "posters", "cli.out_under_file", {"file": str(notes)}),
        "unwritable": (_unwritable(tmp_path), "cli.out_not_writable", {}),
        "long name": (tmp_path / ("x" * 300), "cli.out_name_too_long", {}),
    }[case]

    assert _posters(out) == 1

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [i18n.t(language, key, out=out, **extra)]
    assert notes.read_text(encoding="utf-8") == "ghi chú"

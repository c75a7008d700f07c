"""Printable QR posters, one per residential group, for the ward office.

Each poster is one A4 page at 300 dpi: the bot's name and where to find it
on each channel, the group and its ward, a large QR code per channel, and
two lines from the catalogue on what to do.  The channels say what goes in
their code (`bot.ports.ChannelLinks`): Telegram's is the deep link that
starts a report in that group (``https://t.me/<bot>?start=a-<GROUP>``,
which ``/start`` understands), printed in small under the code for people
who type it; Zalo has no such link, so its code opens the bot and the
group's code to send it is printed under it ("Zalo: nhắn “HH-TDP03” cho bot").

The page is drawn with Pillow in greys and saved as PNG (anti-aliased, for
screens and for checking) or as a one-page PDF (black and white, which
laser printers print crisply and which keeps the file small).  Text uses
DejaVu Sans, shipped in ``bot/data/fonts`` with its licence: the fonts a
print shop's PC happens to have may lack Vietnamese letters.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont

from bot import i18n
from bot.domain.channels import label
from bot.domain.orgchart import Area, AreaKind, OrgChart
from bot.outfiles import output_folder, write_inside
from bot.ports import ChannelLinks

__all__ = [
    "A4_PIXELS",
    "BOT_NAME",
    "DPI",
    "FONTS_DIR",
    "PosterError",
    "font",
    "render_posters",
]

BOT_NAME = "Phản Ánh"
DPI = 300
A4_PIXELS = (2480, 3508)  # 210 x 297 mm at 300 dpi
FONTS_DIR = Path(__file__).resolve().parent.parent / "data" / "fonts"
FORMATS = ("pdf", "png")

_WIDTH, _HEIGHT = A4_PIXELS
_MARGIN = 200  # about 17 mm, inside what any office printer can print
_TEXT_WIDTH = _WIDTH - 2 * _MARGIN
_QR_TARGET = 1800  # the code's side with its quiet zone: about 15 cm
_QR_GAP = 120  # between two codes side by side
_LEADING, _PARAGRAPH_GAP = 8, 36
# Greys darker than the middle: the PDF is thresholded to black and white.
_BLACK, _GREY, _WHITE = 0, 70, 255


class PosterError(Exception):
    """A refusal for the operator, named by a catalogue key."""

    def __init__(self, key: str, **params: str) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class _Code:
    """One channel's QR code (``data``; None: it has nothing to open) and
    the line printed under it: the link itself, or what to send the bot."""

    data: str | None
    caption: str
    typed: bool = False  # the caption is what to send: printed large, not as small print


@dataclass(frozen=True)
class _Texts:
    """Everything written on one poster, already in the poster's language."""

    group: str
    ward: str
    bots: tuple[str, ...]
    codes: tuple[_Code, ...]
    scan: str
    how: str
    code: str


@cache
def font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The shipped DejaVu Sans (it has every Vietnamese letter) at ``size`` px."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONTS_DIR / name), size)


def render_posters(
    chart: OrgChart,
    ward: str,
    links: Sequence[ChannelLinks],
    out_dir: Path,
    *,
    fmt: str = "pdf",
    language: str = "vi",
) -> list[Path]:
    """Write ``<GROUP-CODE>.pdf`` (or ``.png``) for every residential group of
    ``ward`` into ``out_dir`` (created if needed), in the chart's order, with
    the way to each channel's bot in ``links`` (one or two of them).

    :class:`PosterError` when the ward is wrong or has no groups;
    :class:`bot.outfiles.OutputError` when the folder cannot be written;
    :class:`ValueError` for a format, language or number of channels the
    code does not know (a programming error, not an operator's).  A link
    planted in the folder is never followed (`bot.outfiles.write_inside`).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown poster format {fmt!r}; use one of {FORMATS}")
    if language not in i18n.LANGUAGES:
        raise ValueError(f"unknown language {language!r}; use one of {i18n.LANGUAGES}")
    if not 1 <= len(links) <= 2:
        raise ValueError(f"a poster shows one or two channels, not {len(links)}")
    ward_area = _ward(chart, ward)
    groups = chart.groups(ward)
    if not groups:
        raise PosterError("poster.no_groups", ward=ward)

    folder = output_folder(out_dir)
    paths: list[Path] = []
    for group in groups:
        texts = _texts(group, ward_area, links, language)
        save = functools.partial(_save, _draw(texts), texts, fmt)
        paths.append(write_inside(folder, f"{group.code}.{fmt}", save))
    return paths


def _ward(chart: OrgChart, code: str) -> Area:
    """The ward ``code`` names, else a refusal that says what the code is:
    a clerk who types a residential group's code (it is on the poster they
    hold) is told its ward's code; any other mistake lists the wards'."""
    area = chart.areas.get(code)
    if area is not None and area.kind is AreaKind.WARD:
        return area
    known = ", ".join(chart.ward_codes())
    ward = chart.ward_of(code) if area is not None else None
    if area is not None and ward is not None:
        raise PosterError("poster.area_of_ward", ward=code, name=area.name, parent=ward)
    if area is not None:
        raise PosterError("poster.not_a_ward", ward=code, name=area.name, known=known)
    raise PosterError("poster.unknown_ward", ward=code, known=known)


def _save(page: Image.Image, texts: _Texts, fmt: str, out: BinaryIO) -> None:
    if fmt == "png":
        page.save(out, "PNG", dpi=(DPI, DPI), optimize=True)
        return
    # Black and white without dithering: crisp edges for the code and the
    # letters, and a small file (CCITT G4 inside the PDF).
    page.convert("1", dither=Image.Dither.NONE).save(
        out,
        "PDF",
        resolution=float(DPI),
        title=f"{BOT_NAME} — {texts.group}, {texts.ward}",
        creator=BOT_NAME,
    )


def _texts(group: Area, ward: Area, links: Sequence[ChannelLinks], language: str) -> _Texts:
    def nfc(text: str) -> str:
        # Names pasted from some programs carry their marks as separate
        # characters; composed letters are what the font draws best.
        return unicodedata.normalize("NFC", text)

    return _Texts(
        group=nfc(group.name),
        ward=nfc(ward.name),
        bots=tuple(
            i18n.t(language, "poster.bot", bot=one.bot, channel=label(one.channel))
            for one in links
            if one.bot
        ),
        codes=tuple(_code(one, group.code, language) for one in links),
        scan=nfc(i18n.t(language, "poster.scan", group=group.name)),
        how=i18n.t(language, "poster.how"),
        code=group.code,
    )


def _code(links: ChannelLinks, group_code: str, language: str) -> _Code:
    """The channel's link that starts a report in the group, under its code;
    or, where it has none (Zalo), a code that opens the bot and the group's
    code to send it."""
    start = links.start_report(group_code)
    if start is not None:
        return _Code(start, start)
    opens = links.bot if links.bot.startswith("https://") else None
    caption = i18n.t(language, "poster.send_code", channel=label(links.channel), code=group_code)
    return _Code(opens, caption, typed=True)


# ---------------------------------------------------------------- drawing


def _fitting(
    text: str, size: int, *, bold: bool = False, width: int = _TEXT_WIDTH
) -> ImageFont.FreeTypeFont:
    """The font at ``size`` px, or smaller until ``text`` fits on one line."""
    while size > 20 and font(size, bold=bold).getlength(text) > width:
        size -= 4
    return font(size, bold=bold)


def _wrap(text: str, face: ImageFont.FreeTypeFont, width: float = _TEXT_WIDTH) -> list[str]:
    """``text`` broken at spaces into lines no wider than ``width``."""
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and face.getlength(candidate) <= width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def _balanced(text: str, face: ImageFont.FreeTypeFont) -> list[str]:
    """As few lines as :func:`_wrap` gives, but of even lengths, so that a
    centred paragraph does not end on a lonely word."""
    lines = _wrap(text, face)
    low, high = 0.0, float(_TEXT_WIDTH)
    while high - low > 4:
        middle = (low + high) / 2
        if len(_wrap(text, face, middle)) <= len(lines):
            high = middle
        else:
            low = middle
    return _wrap(text, face, high)


def _qr_image(link: str, target: int = _QR_TARGET) -> Image.Image:
    """The code with its quiet zone, about ``target`` pixels wide, scaled by
    a whole number of pixels per module so that every module has the same
    size on paper."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(link)
    code.make(fit=True)
    matrix = code.get_matrix()
    count = len(matrix)
    small = Image.new("L", (count, count), _WHITE)
    small.putdata([_BLACK if dark else _WHITE for row in matrix for dark in row])
    scale = target // count
    return small.resize((count * scale, count * scale), Image.Resampling.NEAREST)


def _paragraphs_height(texts: _Texts, size: int) -> int:
    height = 0
    for text, bold in ((texts.scan, True), (texts.how, False)):
        face = font(size, bold=bold)
        ascent, descent = face.getmetrics()
        height += len(_balanced(text, face)) * (ascent + descent + _LEADING) + _PARAGRAPH_GAP
    return height


def _draw(texts: _Texts) -> Image.Image:
    page = Image.new("L", A4_PIXELS, _WHITE)
    draw = ImageDraw.Draw(page)
    centre = _WIDTH // 2

    def line(y: int, text: str, face: ImageFont.FreeTypeFont, fill: int = _BLACK) -> int:
        """Draw one centred line with its top at ``y``; the y below it."""
        draw.text((centre, y), text, font=face, fill=fill, anchor="ma")
        ascent, descent = face.getmetrics()
        return y + ascent + descent

    # The bot, and where to find it.
    y = line(_MARGIN, BOT_NAME, font(170, bold=True))
    for bot in texts.bots:
        y = line(y + 10, bot, _fitting(bot, 72 if len(texts.bots) == 1 else 60), _GREY)
    y += 60
    draw.line([(_MARGIN, y), (_WIDTH - _MARGIN, y)], fill=_GREY, width=5)

    # Where this poster hangs.
    y = line(y + 70, texts.group, _fitting(texts.group, 150, bold=True))
    y = line(y + 10, texts.ward, _fitting(texts.ward, 90), _GREY)

    # The codes side by side, each with its line under it.
    y += 50
    codes = [c for c in texts.codes if c.data is not None]
    column = (_TEXT_WIDTH - _QR_GAP * (len(codes) - 1)) // max(len(codes), 1)
    below = y
    for n, code in enumerate(codes):
        assert code.data is not None
        qr = _qr_image(code.data, min(_QR_TARGET, column))
        middle = _MARGIN + n * (column + _QR_GAP) + column // 2 if len(codes) > 1 else centre
        page.paste(qr, (middle - qr.width // 2, y))
        width = column if len(codes) > 1 else _TEXT_WIDTH
        face = _fitting(code.caption, 60 if code.typed else 44, bold=code.typed, width=width)
        ink = _BLACK if code.typed else _GREY
        draw.text((middle, y + qr.height + 10), code.caption, font=face, fill=ink, anchor="ma")
        ascent, descent = face.getmetrics()
        below = max(below, y + qr.height + 10 + ascent + descent)
    y = below
    # A channel with nothing to open: what to send its bot, on a line of its own.
    for code in texts.codes:
        if code.data is None:
            y = line(y + 30, code.caption, _fitting(code.caption, 60, bold=True))

    # What to do, smaller if a long group name makes it run into the footer.
    y += 70
    size = 74
    while size > 40 and y + _paragraphs_height(texts, size) > _HEIGHT - _MARGIN:
        size -= 4
    for text, bold in ((texts.scan, True), (texts.how, False)):
        face = font(size, bold=bold)
        for row in _balanced(text, face):
            y = line(y, row, face) + _LEADING
        y += _PARAGRAPH_GAP

    # The group's code, small, for the office sorting the printed pages.
    small = font(40)
    draw.text(
        (_WIDTH - _MARGIN, _HEIGHT - _MARGIN // 2),
        texts.code,
        font=small,
        fill=_GREY,
        anchor="rd",
    )
    return page

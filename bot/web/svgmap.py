"""The dashboard's map, drawn by the server as SVG from the org chart alone:
each residential group's polygon (or, without one, a dot at its centre),
shaded by the complaints received in the week, with a circle sized by what
was still open at its end.  No tiles, no script, nothing from the internet:
it works on the ward office's offline network and prints as it shows.

Longitude and latitude are drawn on a plane (an equirectangular projection
scaled by the cosine of the mean latitude): over a ward of a few square
kilometres the distortion is invisible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from bot.domain.geo import area_centre
from bot.domain.orgchart import Area, GeoPoint

WIDTH = 800.0
MARGIN = 64.0  # room for the names of the groups at the edges
# Shades from "nothing received" to "the most in the scope" (ColorBrewer's Reds).
SHADES = ("#f7f7f7", "#fcbba1", "#fc9272", "#fb6a4a", "#de2d26", "#a50f15")
MAX_RADIUS = 22.0
DOT_RADIUS = 9.0


@dataclass(frozen=True)
class GroupFigure:
    """What the map says of one group: received in the week, open at its end."""

    area: Area
    received: int
    open: int
    href: str
    tip: str


def shade(received: int, most: int) -> str:
    """The group's colour: the lightest for none, then five steps up to ``most``."""
    if received <= 0 or most <= 0:
        return SHADES[0]
    step = math.ceil(received / most * (len(SHADES) - 1))
    return SHADES[max(1, min(step, len(SHADES) - 1))]


def radius(count: int, most: int) -> float:
    """A circle whose area grows with the count (0 for none)."""
    if count <= 0 or most <= 0:
        return 0.0
    return max(4.0, MAX_RADIUS * math.sqrt(count / most))


def _points(area: Area) -> list[GeoPoint]:
    if area.polygon:
        return list(area.polygon)
    centre = area_centre(area)
    return [centre] if centre is not None else []


def drawable(groups: Sequence[Area]) -> list[Area]:
    """The groups the chart places on the ground (a polygon or a centre)."""
    return [g for g in groups if _points(g)]


def _projection(areas: Sequence[Area]) -> tuple[Callable[[GeoPoint], tuple[float, float]], float]:
    """Longitude and latitude to the drawing's x and y, and its height."""
    points = [p for a in areas for p in _points(a)]
    west, east = min(p.lon for p in points), max(p.lon for p in points)
    south, north = min(p.lat for p in points), max(p.lat for p in points)
    squeeze = math.cos(math.radians((north + south) / 2))
    span_x = max((east - west) * squeeze, 1e-6)
    span_y = max(north - south, 1e-6)
    scale = (WIDTH - 2 * MARGIN) / max(span_x, span_y)
    height = span_y * scale + 2 * MARGIN

    def project(p: GeoPoint) -> tuple[float, float]:
        return (
            MARGIN + (p.lon - west) * squeeze * scale,
            MARGIN + (north - p.lat) * scale,
        )

    return project, height


def _number(value: float) -> str:
    return f"{value:.1f}"


def svg_map(figures: Sequence[GroupFigure], label: Mapping[str, str]) -> str:
    """The map as one ``<svg>`` element (empty string when no group can
    be placed); ``label`` gives each group's short name to write on it."""
    placed = [f for f in figures if _points(f.area)]
    if not placed:
        return ""
    project, height = _projection([f.area for f in placed])
    most_received = max(f.received for f in placed)
    most_open = max(f.open for f in placed)
    shapes: list[str] = []
    marks: list[str] = []
    for figure in placed:
        area = figure.area
        fill = shade(figure.received, most_received)
        tip = f"<title>{escape(figure.tip)}</title>"
        centre = area_centre(area)
        assert centre is not None  # placed: it has a polygon or a centre
        cx, cy = project(centre)
        if area.polygon:
            coords = " ".join(
                f"{_number(x)},{_number(y)}" for x, y in (project(p) for p in area.polygon)
            )
            body = f'<polygon class="group" points="{coords}" fill="{fill}"/>'
        else:
            body = (
                f'<circle class="group dot" cx="{_number(cx)}" cy="{_number(cy)}"'
                f' r="{DOT_RADIUS}" fill="{fill}"/>'
            )
        name = escape(label.get(area.code, area.name))
        shapes.append(
            f'<a href="{escape(figure.href)}" data-group="{escape(area.code)}">{tip}{body}'
            f'<text class="label" x="{_number(cx)}" y="{_number(cy - 6)}">{name}</text></a>'
        )
        r = radius(figure.open, most_open)
        if r:
            marks.append(
                f'<circle class="open" cx="{_number(cx)}" cy="{_number(cy + 14)}"'
                f' r="{_number(r)}"><title>{escape(figure.tip)}</title></circle>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="map" role="img"'
        f' viewBox="0 0 {_number(WIDTH)} {_number(height)}">'
        + "".join(shapes)
        + "".join(marks)
        + "</svg>"
    )

"""Where a shared location falls: inside a group's polygon, else the nearest
group centre close enough.  Plain math, no GIS dependency: wards are small
enough for an equirectangular approximation around the point."""

from __future__ import annotations

import math
from collections.abc import Sequence

from bot.domain.orgchart import Area, AreaKind, GeoPoint, OrgChart

EARTH_RADIUS_KM = 6371.0088


def distance_km(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance (haversine)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def contains(polygon: Sequence[GeoPoint], point: GeoPoint) -> bool:
    """Ray casting; points exactly on an edge may fall either way, which is
    fine for picking a residential group."""
    inside = False
    n = len(polygon)
    j = n - 1
    for i in range(n):
        pi, pj = polygon[i], polygon[j]
        if (pi.lat > point.lat) != (pj.lat > point.lat):
            cross = (pj.lon - pi.lon) * (point.lat - pi.lat) / (pj.lat - pi.lat) + pi.lon
            if point.lon < cross:
                inside = not inside
        j = i
    return inside


def centroid(polygon: Sequence[GeoPoint]) -> GeoPoint:
    """Mean of the vertices (closing point ignored): good enough for a
    nearest-centre fallback on small, convex-ish groups."""
    pts = list(polygon)
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    return GeoPoint(lon=sum(p.lon for p in pts) / len(pts), lat=sum(p.lat for p in pts) / len(pts))


def area_centre(area: Area) -> GeoPoint | None:
    if area.centre is not None:
        return area.centre
    if area.polygon:
        return centroid(area.polygon)
    return None


def locate(chart: OrgChart, point: GeoPoint, max_km: float) -> Area | None:
    """The residential group a point belongs to, or None if it is outside
    every ward.

    A group whose polygon contains the point wins.  Otherwise, if the point is
    inside a ward's polygon, only that ward's groups are candidates; the
    nearest group centre within ``max_km`` is chosen.
    """
    groups = chart.groups()
    for group in groups:
        if group.polygon and contains(group.polygon, point):
            return group
    wards = [
        a
        for a in chart.areas.values()
        if a.kind is AreaKind.WARD and a.polygon and contains(a.polygon, point)
    ]
    if wards:
        ward_codes = {w.code for w in wards}
        groups = [g for g in groups if chart.ward_of(g.code) in ward_codes]
    best: tuple[float, Area] | None = None
    for group in groups:
        centre = area_centre(group)
        if centre is None:
            continue
        d = distance_km(point, centre)
        if d <= max_km and (best is None or d < best[0]):
            best = (d, group)
    return best[1] if best else None

"""The digest's numbers as SQL aggregates: `bot.ports.DigestStore` over SQLite.

Every definition in ``bot/domain/digest.py`` is written here once more as SQL,
in one common table expression (``_flags``) that classifies each complaint a
period touches; the counts are ``SUM``s over it grouped by ward, family,
category, residential group or owner, and the medians use window functions
(``ROW_NUMBER``/``COUNT … OVER``, SQLite ≥ 3.25).  A test computes every
number both ways and requires them to agree, so a change to one side without
the other fails.

Which rows a period touches is found through the (ward, instant) indexes of
migration 0003, never by scanning the table: those created in the period,
resolved, closed or acknowledged since its start, disputed in it, or open
now.  Instants are compared as stored: UTC text ``YYYY-MM-DD HH:MM:SS``, which
sorts like time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from bot.domain.complaints import Complaint
from bot.domain.digest import (
    OPEN_STATE_VALUES,
    Counts,
    Dimension,
    Outcome,
    Overdue,
    Period,
    Sighting,
    Timing,
)
from bot.domain.orgchart import GeoPoint
from bot.ports import Notice
from storage.db import Database, parse_utc, utc_text
from storage.sqlite import _complaint, insert_notices

_OPEN = ", ".join(f"'{s}'" for s in OPEN_STATE_VALUES)
_RESOLVED = "'resolved', 'confirmed', 'closed_unconfirmed'"


# Parameters: :wards (a JSON array of ward codes), :s and :e (the period's
# bounds as stored text).  Each step is one clause of the domain's docstring.
def _flags(*, materialized: bool = False, wide: bool = False) -> str:
    """The classifying CTE.  Materialized when several groupings read it,
    inlined when one does (materializing a year's rows costs more than it saves)."""
    f_kind = "f AS MATERIALIZED" if materialized else "f AS"
    w = "+" if wide else ""  # a wide scope walks time-first indexes: see _wide
    return f"""
WITH scope(ward) AS (SELECT value FROM json_each(:wards)),
-- Received in the period, plus the older complaints still alive in it: two
-- disjoint sets, so the big one (a year's worth) needs no de-duplication.
ids(id) AS (
    SELECT id FROM complaints
        WHERE {w}ward IN (SELECT ward FROM scope) AND created_at >= :s AND created_at < :e
    UNION ALL
    SELECT id FROM (
        SELECT id FROM complaints
            WHERE ward IN (SELECT ward FROM scope) AND resolved_at >= :s AND created_at < :s
        UNION SELECT id FROM complaints
            WHERE ward IN (SELECT ward FROM scope) AND closed_at >= :s AND created_at < :s
        UNION SELECT id FROM complaints
            WHERE ward IN (SELECT ward FROM scope) AND acknowledged_at >= :s AND created_at < :s
        UNION SELECT id FROM complaints
            WHERE ward IN (SELECT ward FROM scope) AND state IN ({_OPEN}) AND created_at < :s
        UNION SELECT e.complaint_id FROM complaint_events e
            JOIN complaints c ON c.id = e.complaint_id
            WHERE e.action = 'dispute' AND e.at >= :s AND e.at < :e
              AND c.ward IN (SELECT ward FROM scope) AND c.created_at < :s
    )
),
disputed(id, n) AS (
    SELECT complaint_id, COUNT(*) FROM complaint_events
        WHERE action = 'dispute' AND at >= :s AND at < :e GROUP BY complaint_id
),
-- the standing resolution: a disputed fix was cleared, so only the last counts
r AS (
    SELECT c.id, c.ward, c.area, c.family, c.category, c.owner, c.state, c.created_at,
           c.due_at, c.acknowledged_at, c.closed_at, c.rating, c.paused_since,
           CASE WHEN c.state IN ({_RESOLVED}) THEN c.resolved_at END AS res,
           COALESCE(d.n, 0) AS disputes
    FROM ids JOIN complaints c ON c.id = ids.id LEFT JOIN disputed d ON d.id = c.id
),
g AS (
    SELECT *,
        COALESCE(res >= :s AND res < :e, 0) AS resolved_in,
        -- judged at min(instant, paused_since): the clock stands still while paused
        MIN(res, COALESCE(paused_since, res)) AS res_judged,
        MIN(:e, COALESCE(paused_since, :e)) AS end_judged,
        (created_at < :e AND NOT COALESCE(res < :e, 0)
            AND NOT (state IN ('rejected', 'withdrawn') AND COALESCE(closed_at < :e, 0)))
            AS open_end,
        COALESCE(closed_at >= :s AND closed_at < :e, 0) AS closed_in
    FROM r
),
{f_kind} (
    SELECT id, ward, area, family, category, owner, due_at, paused_since, end_judged,
        resolved_in, open_end,
        (created_at >= :s AND created_at < :e) AS received,
        (resolved_in AND res_judged <= due_at) AS on_time,
        (resolved_in AND NOT res_judged <= due_at) AS late,
        (open_end AND end_judged <= due_at) AS in_progress,
        (open_end AND NOT end_judged <= due_at) AS overdue,
        (closed_in AND state = 'rejected') AS rejected,
        (closed_in AND state = 'withdrawn') AS withdrawn,
        (closed_in AND state = 'confirmed') AS confirmed,
        (closed_in AND state = 'closed_unconfirmed') AS unconfirmed,
        CASE WHEN closed_in AND state = 'confirmed' THEN rating END AS rating,
        disputes
    FROM g
)
"""


# late = resolved - on time and overdue = open - in progress, as in the
# domain: deriving them saves evaluating two more comparisons per row.
_SUMS = (
    "SUM(received), SUM(on_time), SUM(resolved_in) - SUM(on_time), SUM(in_progress),"
    " SUM(open_end) - SUM(in_progress), SUM(rejected), SUM(withdrawn), SUM(confirmed),"
    " SUM(unconfirmed), COALESCE(SUM(rating), 0), COUNT(rating), SUM(disputes)"
)

_KEY_SQL = {
    Dimension.SCOPE: "''",
    Dimension.WARD: "ward",
    Dimension.FAMILY: "family",
    Dimension.CATEGORY: "category",
    Dimension.AREA: "area",
    Dimension.OWNER: "owner",
}

# Whole seconds from filing to ``at``: julianday differences are exact to
# well under a second for second-precision stamps, so rounding is exact (and
# cheaper than two strftime('%s') calls).
_SECONDS = "CAST(ROUND((julianday({at}) - julianday(created_at)) * 86400) AS INTEGER)"

# Medians: the durations of the period's acknowledgements and standing
# resolutions (whole seconds), then the middle one or two of each group
# averaged.  Their own lean query: no other row is needed.
_MEDIAN = f"""
WITH scope(ward) AS (SELECT value FROM json_each(:wards)),
v(what, key, v) AS (
    SELECT 'ack', {{key}}, {_SECONDS.format(at="acknowledged_at")}
        FROM complaints WHERE ward IN (SELECT ward FROM scope)
        AND acknowledged_at >= :s AND acknowledged_at < :e
    UNION ALL
    SELECT 'fix', {{key}}, {_SECONDS.format(at="resolved_at")}
        FROM complaints WHERE {{w}}ward IN (SELECT ward FROM scope)
        AND resolved_at >= :s AND resolved_at < :e AND state IN ({_RESOLVED})
)
SELECT what, key, AVG(v) FROM (
    SELECT what, key, v,
        ROW_NUMBER() OVER (PARTITION BY what, key ORDER BY v) AS rn,
        COUNT(*) OVER (PARTITION BY what, key) AS n
    FROM v
) WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
GROUP BY what, key
"""

# The scope's median of one series: its one or two middle values, found by
# one sort that stops half-way (ORDER BY … LIMIT/OFFSET), cheaper than the
# windowed form above when there are no groups to partition.
_ACK_VALUES = f"""SELECT {_SECONDS.format(at="acknowledged_at")} AS v FROM complaints
    WHERE ward IN (SELECT ward FROM scope) AND acknowledged_at >= :s AND acknowledged_at < :e"""
_FIX_VALUES = f"""SELECT {_SECONDS.format(at="resolved_at")} AS v FROM complaints
    WHERE {{w}}ward IN (SELECT ward FROM scope) AND resolved_at >= :s AND resolved_at < :e
    AND state IN ({_RESOLVED})"""
_SCOPE_MEDIAN = """
WITH scope(ward) AS (SELECT value FROM json_each(:wards)),
v AS MATERIALIZED ({values}),
n(c) AS (SELECT COUNT(*) FROM v)
SELECT AVG(v) FROM (
    SELECT v FROM v ORDER BY v
    LIMIT 2 - (SELECT c FROM n) % 2 OFFSET ((SELECT c FROM n) - 1) / 2
)
"""

# Received and resolved on time, week by week: the chart's two series.
_TREND = f"""
WITH scope(ward) AS (SELECT value FROM json_each(:wards)),
b(i, s, e) AS (
    SELECT key, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:weeks)
)
SELECT b.i,
    (SELECT COUNT(*) FROM complaints WHERE ward IN (SELECT ward FROM scope)
        AND created_at >= b.s AND created_at < b.e),
    (SELECT COUNT(*) FROM complaints WHERE {{w}}ward IN (SELECT ward FROM scope)
        AND resolved_at >= b.s AND resolved_at < b.e AND state IN ({_RESOLVED})
        AND MIN(resolved_at, COALESCE(paused_since, resolved_at)) <= due_at)
FROM b ORDER BY b.i
"""

_OUTCOME_SQL = (
    "CASE WHEN f.on_time THEN 'on_time' WHEN f.late THEN 'late'"
    " WHEN f.rejected THEN 'rejected' WHEN f.withdrawn THEN 'withdrawn'"
    " WHEN f.in_progress THEN 'in_progress' WHEN f.overdue THEN 'overdue' END"
)


WIDE_SCOPE = 8


def _wide(wards: Sequence[str]) -> bool:
    """Many wards (the whole city): walk the time-first indexes and check the
    ward on the way.  Complaint ids follow filing order, so reading rows in
    time order reads the table nearly in order; walking ward by ward would
    jump all over it (three times slower at a million rows).  One ward's
    rows are few: its (ward, time) indexes go straight to them."""
    return len(wards) > WIDE_SCOPE


def _plus(wards: Sequence[str]) -> str:
    """SQLite's unary ``+`` keeps the planner off the ward-first indexes."""
    return "+" if _wide(wards) else ""


class SqliteDigestStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _all(self, sql: str, params: dict[str, Any] | Sequence[Any]) -> list[aiosqlite.Row]:
        """Reports read on a connection of their own (`Database.reading`),
        never holding up the bot's."""
        async with self.db.reading() as conn, conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    @staticmethod
    def _params(period: Period, wards: Sequence[str]) -> dict[str, Any]:
        return {
            "wards": json.dumps(list(wards)),
            "s": utc_text(period.start),
            "e": utc_text(period.end),
        }

    async def tally(
        self, period: Period, wards: Sequence[str], dimensions: Sequence[Dimension]
    ) -> dict[Dimension, dict[str, Counts]]:
        """The counts of ``period`` in ``wards``, grouped each way asked, in
        one statement (the classification is computed once)."""
        if not dimensions:
            return {}
        parts = [
            f"SELECT '{d.value}', {_KEY_SQL[d]}, {_SUMS} FROM f"
            + ("" if d is Dimension.SCOPE else f" GROUP BY {_KEY_SQL[d]}")
            for d in dimensions
        ]
        sql = _flags(materialized=len(parts) > 1, wide=_wide(wards)) + " UNION ALL ".join(parts)
        rows = await self._all(sql, self._params(period, wards))
        out: dict[Dimension, dict[str, Counts]] = {d: {} for d in dimensions}
        for row in rows:
            values = [int(v or 0) for v in tuple(row)[2:]]
            if not any(values):
                continue  # SUM over no rows: the scope had nothing to count
            out[Dimension(row[0])][str(row[1])] = Counts(*values)
        return out

    async def timing(
        self, period: Period, wards: Sequence[str], dimension: Dimension = Dimension.SCOPE
    ) -> dict[str, Timing]:
        params = self._params(period, wards)
        if dimension is Dimension.SCOPE:
            medians = []
            for values in (_ACK_VALUES, _FIX_VALUES.format(w=_plus(wards))):
                (value,), *_ = await self._all(_SCOPE_MEDIAN.format(values=values), params)
                medians.append(None if value is None else float(value))
            return {"": Timing(*medians)} if medians != [None, None] else {}
        sql = _MEDIAN.format(key=_KEY_SQL[dimension], w=_plus(wards))
        rows = await self._all(sql, params)
        found: dict[str, dict[str, float]] = {}
        for what, key, value in rows:
            found.setdefault(str(key), {})[str(what)] = float(value)
        return {key: Timing(v.get("ack"), v.get("fix")) for key, v in sorted(found.items())}

    async def oldest_overdue(self, at: datetime, wards: Sequence[str], limit: int) -> list[Overdue]:
        """Open and overdue at ``at``: the classification of the empty period
        that ends there."""
        rows = await self._all(
            _flags(wide=_wide(wards))
            + "SELECT id, owner, ward, due_at, end_judged FROM f WHERE overdue"
            " ORDER BY due_at, id LIMIT :limit",
            {**self._params(Period.moment(at), wards), "limit": limit},
        )
        return [
            Overdue(r["id"], r["owner"], r["ward"], parse_utc(r["due_at"]), parse_utc(r[4]))
            for r in rows
        ]

    async def trend(self, weeks: Sequence[Period], wards: Sequence[str]) -> list[tuple[int, int]]:
        """(received, resolved on time) of each week, in one statement."""
        bounds = json.dumps([[utc_text(w.start), utc_text(w.end)] for w in weeks])
        rows = await self._all(
            _TREND.format(w=_plus(wards)), {"wards": json.dumps(list(wards)), "weeks": bounds}
        )
        return [(int(r[1]), int(r[2])) for r in rows]

    async def sightings(
        self, start: datetime, end: datetime, wards: Sequence[str]
    ) -> list[Sighting]:
        """Complaints received in ``[start, end)`` for hotspot detection,
        without the rejected and withdrawn."""
        rows = await self._all(
            "SELECT id, category, area, created_at, state, lat, lon FROM complaints"
            f" WHERE {_plus(wards)}ward IN (SELECT value FROM json_each(?)) AND created_at >= ?"
            " AND created_at < ? AND state NOT IN ('rejected', 'withdrawn') ORDER BY id",
            (json.dumps(list(wards)), utc_text(start), utc_text(end)),
        )
        return [
            Sighting(
                id=r["id"],
                category=r["category"],
                area=r["area"],
                # fromisoformat reads the stored text ten times faster than strptime
                created_at=datetime.fromisoformat(r["created_at"]).replace(tzinfo=UTC),
                is_open=r["state"] in OPEN_STATE_VALUES,
                location=GeoPoint(lon=r["lon"], lat=r["lat"]) if r["lat"] is not None else None,
            )
            for r in rows
        ]

    async def counted(
        self, period: Period, wards: Sequence[str]
    ) -> list[tuple[Complaint, Outcome]]:
        """Every complaint the period's counts count, with where it stands:
        the rows of an export."""
        rows = await self._all(
            _flags(wide=_wide(wards))
            + f"SELECT c.*, {_OUTCOME_SQL} AS outcome FROM f JOIN complaints c"
            " ON c.id = f.id WHERE f.received OR f.on_time OR f.late OR f.in_progress"
            " OR f.overdue OR f.rejected OR f.withdrawn ORDER BY c.id",
            self._params(period, wards),
        )
        return [(_complaint(r, []), Outcome(r["outcome"])) for r in rows]

    async def record_run(self, week: str, notices: Sequence[Notice], at: datetime) -> bool:
        """Queue the week's digests unless they were queued already: the row
        and the outbox rows are written together or not at all."""
        async with self.db.transaction() as conn:
            cur = await conn.execute(
                "INSERT INTO digest_runs (week, queued_at, recipients) VALUES (?, ?, ?)"
                " ON CONFLICT (week) DO NOTHING",
                (week, utc_text(at), len(notices)),
            )
            if cur.rowcount != 1:
                return False
            self.db.outbox_changes += await insert_notices(conn, notices, at)
        return True

    async def has_run(self, week: str | None = None) -> bool:
        """Whether ``week``'s digests were queued (any week's, when None).
        On the write connection: it must see what record_run just wrote."""
        sql = "SELECT 1 FROM digest_runs" + (" WHERE week = ?" if week else " LIMIT 1")
        async with self.db.conn.execute(sql, (week,) if week else ()) as cur:
            return await cur.fetchone() is not None

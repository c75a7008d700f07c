"""The digest's numbers as SQL aggregates: `bot.ports.DigestStore` over SQLite.

Every definition in ``bot/domain/digest.py`` is written here once more as SQL.
The counts are ``COUNT(*) FILTER (WHERE …)`` aggregates straight over the rows
a period touches (``_tally_sql``), one pass however many groupings a digest
asks for; the rows of an export and the oldest overdue classify each
complaint in one common table expression (``_flags``); the medians sort the
durations, or for the whole city's year walk indexes that keep them in order.
A test computes every number both ways and requires them to agree, so a
change to one side without the other fails.  (SQLite ≥ 3.30, for FILTER.)

Which rows a period touches is found through indexes, never by scanning the
table: those created in the period, resolved, closed or acknowledged since its
start, disputed in it, or open now.  Instants are compared as stored: UTC text
``YYYY-MM-DD HH:MM:SS``, which sorts like time.  At a million complaints the
whole city's digest reads a third of the table for its year to date: what
each row costs there (a function call, a copied column, a sort) is what the
shapes below avoid.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

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
from storage.digest_sums import add_up
from storage.sqlite.db import Database, parse_utc, utc_text
from storage.sqlite.rows import complaint_from_row, insert_notices

_OPEN = ", ".join(f"'{s}'" for s in OPEN_STATE_VALUES)

# How many residents follow a complaint (issue 17): bot/domain/digest.py `Sighting.followers`.
_FOLLOWERS = (
    "(SELECT COUNT(*) FROM complaint_people cp"
    " WHERE cp.complaint_id = complaints.id AND cp.role = 'follower')"
)

_RESOLVED = "'resolved', 'confirmed', 'closed_unconfirmed'"


# Complaints received before the period that are still alive in it: fixed,
# closed, acknowledged or disputed in it, or open at its start.  (Those
# received in it are the other, disjoint part of every digest's rows.)
_OLDER_IDS = f"""
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
          AND c.ward IN (SELECT ward FROM scope) AND c.created_at < :s"""


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
    SELECT id FROM ({_OLDER_IDS}
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


# ---- the counts ------------------------------------------------------------------------------
#
# The same definitions as ``_flags``, written for counting alone: one
# ``COUNT(*) FILTER (WHERE …)`` per number (SQLite ≥ 3.30) straight over the
# rows the period touches.  No classified row is built, materialized or read
# twice, and each condition is plain comparisons: at a million complaints the
# whole city's year is a third of them, and every function call or copied
# column per row shows.  (``x IS TRUE`` is the ``COALESCE(x, 0)`` of
# ``_flags``: an unknown instant never counts.)
_RES = "(state = 'resolved' OR state = 'confirmed' OR state = 'closed_unconfirmed')"
_RESOLVED_IN = f"{_RES} AND resolved_at >= :s AND resolved_at < :e"
# Judged at min(instant, paused_since) <= due_at: the instant or the pause is in time.
_ON_TIME = f"{_RESOLVED_IN} AND (resolved_at <= due_at OR paused_since <= due_at)"
# Every row counted here was created before the end (the period's or an older one).
_OPEN_END = (
    f"NOT ({_RES} AND (resolved_at < :e) IS TRUE)"
    " AND NOT ((state = 'rejected' OR state = 'withdrawn') AND (closed_at < :e) IS TRUE)"
)
_IN_PROGRESS = f"{_OPEN_END} AND (:e <= due_at OR paused_since <= due_at)"
_CLOSED_IN = "closed_at >= :s AND closed_at < :e"


def _counts(received: str) -> str:
    """The twelve numbers of `Counts`, but "resolved" and "open" instead of
    late and overdue (those are their differences, as in the domain)."""
    # The state first: one comparison rules most rows out before the dates.
    confirmed = f"state = 'confirmed' AND {_CLOSED_IN}"
    return ", ".join(
        [
            received,
            f"COUNT(*) FILTER (WHERE {_ON_TIME})",
            f"COUNT(*) FILTER (WHERE {_RESOLVED_IN})",
            f"COUNT(*) FILTER (WHERE {_IN_PROGRESS})",
            f"COUNT(*) FILTER (WHERE {_OPEN_END})",
            f"COUNT(*) FILTER (WHERE state = 'rejected' AND {_CLOSED_IN})",
            f"COUNT(*) FILTER (WHERE state = 'withdrawn' AND {_CLOSED_IN})",
            f"COUNT(*) FILTER (WHERE {confirmed})",
            f"COUNT(*) FILTER (WHERE state = 'closed_unconfirmed' AND {_CLOSED_IN})",
            f"SUM(rating) FILTER (WHERE {confirmed})",
            f"COUNT(rating) FILTER (WHERE {confirmed})",
            "0",
        ]
    )


def _tally_sql(keys: Sequence[str], wide: bool) -> str:
    """Three parts, each grouped by ``keys`` (the finest grouping asked; the
    caller adds the groups up into the coarser ones): the complaints received
    in the period (nearly all rows), the few older ones still alive in it,
    and the period's disputes, each counted for its complaint's groups.  A
    complaint disputed in the period is always one of the first two (it was
    received before the dispute), so no complaint is joined to its disputes."""
    w = "+" if wide else ""  # a wide scope walks time-first indexes: see _wide
    cols = "".join(f"{k}, " for k in keys)
    c_cols = "".join(f"c.{k}, " for k in keys)
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    c_group = f" GROUP BY {', '.join(f'c.{k}' for k in keys)}" if keys else ""
    return f"""
WITH scope(ward) AS (SELECT value FROM json_each(:wards)),
older(id) AS ({_OLDER_IDS}
)
SELECT {cols}{_counts("COUNT(*)")} FROM complaints
    WHERE {w}ward IN (SELECT ward FROM scope) AND created_at >= :s AND created_at < :e{group}
UNION ALL
SELECT {cols}{_counts("0")} FROM complaints WHERE id IN (SELECT id FROM older){group}
UNION ALL
SELECT {c_cols}0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, COUNT(*) FROM complaint_events e
    JOIN complaints c ON c.id = e.complaint_id
    WHERE e.action = 'dispute' AND e.at >= :s AND e.at < :e
      AND c.ward IN (SELECT ward FROM scope){c_group}
"""


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

# The whole city over a long period (the year to date): the sort above would
# take a third of the table to find one middle value.  Migration 0006 keeps
# the durations themselves in order in an index, as julianday differences;
# walking it from the shortest, the period's middle values are reached
# half-way through, the period and the ward checked from the index on the way
# and nothing sorted.  The ORDER BY must be the index's expression, word for
# word.  (One ward, or a week, has few values: sorting them is cheaper than
# walking half of an index over the whole table.)
_DAYS = "(julianday({at}) - julianday(created_at))"
_ORDERED_MEDIAN = """
WITH scope(ward) AS (SELECT value FROM json_each(:wards)),
n(c) AS MATERIALIZED (SELECT COUNT(*) FROM complaints WHERE {where})
SELECT AVG(CAST(ROUND(days * 86400) AS INTEGER)) FROM (
    SELECT {days} AS days FROM complaints INDEXED BY {index} WHERE {where}
    ORDER BY {days} LIMIT 2 - (SELECT c FROM n) % 2 OFFSET ((SELECT c FROM n) - 1) / 2
)
"""
_ORDERED_ACK = _ORDERED_MEDIAN.format(
    index="complaints_ack_days",
    days=_DAYS.format(at="acknowledged_at"),
    where="+ward IN (SELECT ward FROM scope) AND acknowledged_at >= :s AND acknowledged_at < :e",
)
_ORDERED_FIX = _ORDERED_MEDIAN.format(
    index="complaints_fix_days",
    days=_DAYS.format(at="resolved_at"),
    where="+ward IN (SELECT ward FROM scope) AND resolved_at >= :s AND resolved_at < :e"
    f" AND state IN ({_RESOLVED})",
)
# Longer than this, a wide scope's median walks the ordered index.
ORDERED_MEDIAN_SPAN = timedelta(days=62)


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
        AND (resolved_at <= due_at OR paused_since <= due_at))
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


# Every query above finds its rows by one test of the ward against the
# scope.  A ward's own view (``leadership=False``) leaves out the complaints
# about that ward's leadership: the test gains one condition, wherever it is
# (`bot.domain.digest.Scope.covers` is the same rule, one complaint at a time).
_SCOPE_TEST = re.compile(
    r"(\+?)((?:\w+\.)?)ward IN (\(SELECT (?:ward FROM scope|value FROM json_each\(\?\))\))"
)


@functools.lru_cache(maxsize=64)
def _without_leadership(sql: str) -> str:
    return _SCOPE_TEST.sub(r"\1\2ward IN \3 AND NOT \2concerns_leadership", sql)


class SqliteDigestStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _all(
        self, sql: str, params: dict[str, Any] | Sequence[Any], leadership: bool = True
    ) -> list[sqlite3.Row]:
        """Reports read on a connection of their own (`Database.reading`),
        never holding up the bot's; ``leadership`` False: without the
        complaints about a ward's own leadership."""
        if not leadership:
            sql = _without_leadership(sql)
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
        self,
        period: Period,
        wards: Sequence[str],
        dimensions: Sequence[Dimension],
        *,
        leadership: bool = True,
    ) -> dict[Dimension, dict[str, Counts]]:
        """The counts of ``period`` in ``wards``, grouped each way asked, in
        one statement: grouped by every key asked at once, then added up here
        into each grouping (a few hundred rows, where SQLite would otherwise
        read the period's rows once per grouping)."""
        if not dimensions:
            return {}
        keys = sorted({_KEY_SQL[d] for d in dimensions if d is not Dimension.SCOPE})
        rows = await self._all(
            _tally_sql(keys, _wide(wards)), self._params(period, wards), leadership
        )
        return add_up((tuple(row) for row in rows), keys, dimensions, _KEY_SQL)

    async def timing(
        self,
        period: Period,
        wards: Sequence[str],
        dimension: Dimension = Dimension.SCOPE,
        *,
        leadership: bool = True,
    ) -> dict[str, Timing]:
        params = self._params(period, wards)
        if dimension is Dimension.SCOPE:
            if _wide(wards) and period.end - period.start > ORDERED_MEDIAN_SPAN:
                statements = [_ORDERED_ACK, _ORDERED_FIX]
            else:
                statements = [
                    _SCOPE_MEDIAN.format(values=v)
                    for v in (_ACK_VALUES, _FIX_VALUES.format(w=_plus(wards)))
                ]
            # The two series side by side, on the store's two readers.
            results = await asyncio.gather(
                *(self._all(sql, params, leadership) for sql in statements)
            )
            medians = [None if value is None else float(value) for ((value,), *_) in results]
            return {"": Timing(*medians)} if medians != [None, None] else {}
        sql = _MEDIAN.format(key=_KEY_SQL[dimension], w=_plus(wards))
        rows = await self._all(sql, params, leadership)
        found: dict[str, dict[str, float]] = {}
        for what, key, value in rows:
            found.setdefault(str(key), {})[str(what)] = float(value)
        return {key: Timing(v.get("ack"), v.get("fix")) for key, v in sorted(found.items())}

    async def oldest_overdue(
        self, at: datetime, wards: Sequence[str], limit: int, *, leadership: bool = True
    ) -> list[Overdue]:
        """Open and overdue at ``at``: the classification of the empty period
        that ends there."""
        rows = await self._all(
            _flags(wide=_wide(wards))
            + "SELECT id, owner, ward, due_at, end_judged FROM f WHERE overdue"
            " ORDER BY due_at, id LIMIT :limit",
            {**self._params(Period.moment(at), wards), "limit": limit},
            leadership,
        )
        return [
            Overdue(r["id"], r["owner"], r["ward"], parse_utc(r["due_at"]), parse_utc(r[4]))
            for r in rows
        ]

    async def trend(
        self, weeks: Sequence[Period], wards: Sequence[str], *, leadership: bool = True
    ) -> list[tuple[int, int]]:
        """(received, resolved on time) of each week, in one statement."""
        bounds = json.dumps([[utc_text(w.start), utc_text(w.end)] for w in weeks])
        rows = await self._all(
            _TREND.format(w=_plus(wards)),
            {"wards": json.dumps(list(wards)), "weeks": bounds},
            leadership,
        )
        return [(int(r[1]), int(r[2])) for r in rows]

    async def sightings(
        self, start: datetime, end: datetime, wards: Sequence[str], *, leadership: bool = True
    ) -> list[Sighting]:
        """Complaints received in ``[start, end)`` for hotspot detection,
        without the rejected and withdrawn; each open or not at ``end`` (a
        received complaint is open at the end unless its standing resolution
        came before it: ``open_at`` of the domain, whose other clause the
        rejected and withdrawn left out make moot)."""
        rows = await self._all(
            "SELECT id, category, area, created_at,"
            f" NOT ({_RES} AND (resolved_at < ?3) IS TRUE) AS open_end, lat, lon, {_FOLLOWERS}"
            " FROM complaints"
            f" WHERE {_plus(wards)}ward IN (SELECT value FROM json_each(?1)) AND created_at >= ?2"
            " AND created_at < ?3 AND state NOT IN ('rejected', 'withdrawn') ORDER BY id",
            (json.dumps(list(wards)), utc_text(start), utc_text(end)),
            leadership,
        )
        # A month of the whole city is tens of thousands of rows: unpacked as
        # tuples, and fromisoformat reading the stored text with its zone
        # (ten times faster than strptime), it takes half the time.
        parse = datetime.fromisoformat
        return [
            Sighting(
                id_,
                category,
                area,
                parse(f"{created_at}+00:00"),
                bool(open_end),
                None if lat is None else GeoPoint(lon=lon, lat=lat),
                followers,
            )
            for id_, category, area, created_at, open_end, lat, lon, followers in rows
        ]

    async def counted(
        self, period: Period, wards: Sequence[str], *, leadership: bool = True
    ) -> list[tuple[Complaint, Outcome]]:
        """Every complaint the period's counts count, with where it stands:
        the rows of an export."""
        rows = await self._all(
            _flags(wide=_wide(wards))
            + f"SELECT c.*, {_OUTCOME_SQL} AS outcome FROM f JOIN complaints c"
            " ON c.id = f.id WHERE f.received OR f.on_time OR f.late OR f.in_progress"
            " OR f.overdue OR f.rejected OR f.withdrawn ORDER BY c.id",
            self._params(period, wards),
            leadership,
        )
        return [(complaint_from_row(r, []), Outcome(r["outcome"])) for r in rows]

    async def shown_reporters(self, complaint_ids: Sequence[int]) -> dict[int, str]:
        """The reporters' names of those complaints whose reporter let staff
        see it (and has not asked to be forgotten): an export's column."""
        rows = await self._all(
            "SELECT cp.complaint_id, p.display_name FROM json_each(?) j"
            " JOIN complaint_people cp ON cp.complaint_id = j.value"
            " JOIN people p ON p.id = cp.person_id"
            " WHERE cp.role = 'reporter' AND cp.show_name AND p.display_name IS NOT NULL",
            (json.dumps(list(complaint_ids)),),
        )
        return {int(r[0]): str(r[1]) for r in rows}

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

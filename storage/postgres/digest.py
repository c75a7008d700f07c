"""The digest's numbers as SQL aggregates: `bot.ports.DigestStore` over PostgreSQL.

The same definitions as ``bot/domain/digest.py`` and ``storage/sqlite/digest.py``,
in PostgreSQL's dialect: the counts are ``COUNT(*) FILTER (WHERE …)`` over
the rows a period touches, in one pass however many groupings are asked; the
export's rows and the oldest overdue classify each complaint in common table
expressions; the medians are ``percentile_cont(0.5)``, which averages the
two middle values of an even count exactly as ``statistics.median`` does.
tests/test_digest_agreement.py computes every number both ways on both
engines, so a change to one side without the others fails.

Parameters are ``$1`` the wards (text[]), ``$2`` and ``$3`` the period's
bounds (timestamptz, to the second as stored).  Which rows a period touches
is found through the indexes of migration 0002: received in it, resolved,
closed or acknowledged since its start, open now, disputed in it.  A ward's
own view (``leadership=False``) leaves out the complaints about its own
leadership: every test of the ward against the scope gains that condition
(`bot.domain.digest.Scope.covers`, one complaint at a time).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

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
from storage.postgres.db import Database, instant
from storage.postgres.rows import complaint_from_row, insert_notices

W, S, E = "$1::text[]", "$2::timestamptz", "$3::timestamptz"
_OPEN = ", ".join(f"'{s}'" for s in OPEN_STATE_VALUES)

# How many residents follow a complaint (issue 17): bot/domain/digest.py `Sighting.followers`.
_FOLLOWERS = (
    "(SELECT COUNT(*) FROM complaint_people cp"
    " WHERE cp.complaint_id = complaints.id AND cp.role = 'follower')::int"
)

_RESOLVED = "'resolved', 'confirmed', 'closed_unconfirmed'"
_RES = f"state IN ({_RESOLVED})"


def _scope(alias: str = "", *, leadership: bool = True) -> str:
    """The one test of a complaint against the digest's scope."""
    test = f"{alias}ward = ANY({W})"
    return test if leadership else f"{test} AND NOT {alias}concerns_leadership"


def _older(leadership: bool) -> str:
    """Complaints received before the period that are still alive in it:
    fixed, closed, acknowledged or disputed in it, or open at its start."""
    sc, c_sc = _scope(leadership=leadership), _scope("c.", leadership=leadership)
    return f"""
    SELECT id FROM complaints WHERE {sc} AND resolved_at >= {S} AND created_at < {S}
    UNION SELECT id FROM complaints WHERE {sc} AND closed_at >= {S} AND created_at < {S}
    UNION SELECT id FROM complaints WHERE {sc} AND acknowledged_at >= {S} AND created_at < {S}
    UNION SELECT id FROM complaints WHERE {sc} AND state IN ({_OPEN}) AND created_at < {S}
    UNION SELECT e.complaint_id FROM complaint_events e JOIN complaints c ON c.id = e.complaint_id
        WHERE e.action = 'dispute' AND e.at >= {S} AND e.at < {E} AND {c_sc}
          AND c.created_at < {S}"""


@functools.lru_cache(maxsize=8)
def _flags(leadership: bool) -> str:
    """The classifying CTE ``f``: each clause of the domain's docstring."""
    return f"""
WITH ids(id) AS (
    SELECT id FROM complaints
        WHERE {_scope(leadership=leadership)} AND created_at >= {S} AND created_at < {E}
    UNION ALL
    SELECT id FROM ({_older(leadership)}
    ) older
),
disputed(id, n) AS (
    SELECT complaint_id, COUNT(*) FROM complaint_events
        WHERE action = 'dispute' AND at >= {S} AND at < {E} GROUP BY complaint_id
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
        COALESCE(res >= {S} AND res < {E}, false) AS resolved_in,
        -- judged at min(instant, paused_since): the clock stands still while paused
        CASE WHEN paused_since < res THEN paused_since ELSE res END AS res_judged,
        CASE WHEN paused_since < {E} THEN paused_since ELSE {E} END AS end_judged,
        (created_at < {E} AND NOT COALESCE(res < {E}, false)
            AND NOT (state IN ('rejected', 'withdrawn') AND COALESCE(closed_at < {E}, false)))
            AS open_end,
        COALESCE(closed_at >= {S} AND closed_at < {E}, false) AS closed_in
    FROM r
),
f AS (
    SELECT id, ward, area, family, category, owner, due_at, paused_since, end_judged,
        resolved_in, open_end,
        (created_at >= {S} AND created_at < {E}) AS received,
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
# The definitions of ``_flags``, written for counting alone: plain
# comparisons per ``FILTER``, where NULL counts as false (an unknown instant
# never counts), as ``COALESCE(…, false)`` does above.
_RESOLVED_IN = f"{_RES} AND resolved_at >= {S} AND resolved_at < {E}"
# min(instant, paused_since) <= due_at: the instant or the pause is in time.
_ON_TIME = f"{_RESOLVED_IN} AND (resolved_at <= due_at OR paused_since <= due_at)"
# Every row counted here was created before the end (the period's or an older one).
_OPEN_END = (
    f"NOT ({_RES} AND (resolved_at < {E}) IS TRUE)"
    f" AND NOT (state IN ('rejected', 'withdrawn') AND (closed_at < {E}) IS TRUE)"
)
_IN_PROGRESS = f"{_OPEN_END} AND ({E} <= due_at OR paused_since <= due_at)"
_CLOSED_IN = f"closed_at >= {S} AND closed_at < {E}"


def _counts(received: str) -> str:
    """The twelve numbers `storage.digest_sums.add_up` reads."""
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


@functools.lru_cache(maxsize=64)
def _tally_sql(keys: tuple[str, ...], leadership: bool) -> str:
    """Three parts, each grouped by ``keys``: the complaints received in the
    period, the older ones still alive in it, and the period's disputes,
    each counted for its complaint's groups."""
    cols = "".join(f"{k}, " for k in keys)
    c_cols = "".join(f"c.{k}, " for k in keys)
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    c_group = f" GROUP BY {', '.join(f'c.{k}' for k in keys)}" if keys else ""
    sc, c_sc = _scope(leadership=leadership), _scope("c.", leadership=leadership)
    return f"""
WITH older(id) AS ({_older(leadership)}
)
SELECT {cols}{_counts("COUNT(*)")} FROM complaints
    WHERE {sc} AND created_at >= {S} AND created_at < {E}{group}
UNION ALL
SELECT {cols}{_counts("0")} FROM complaints WHERE id IN (SELECT id FROM older){group}
UNION ALL
SELECT {c_cols}0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, COUNT(*) FROM complaint_events e
    JOIN complaints c ON c.id = e.complaint_id
    WHERE e.action = 'dispute' AND e.at >= {S} AND e.at < {E} AND {c_sc}{c_group}
"""


_KEY_SQL = {
    Dimension.SCOPE: "''",
    Dimension.WARD: "ward",
    Dimension.FAMILY: "family",
    Dimension.CATEGORY: "category",
    Dimension.AREA: "area",
    Dimension.OWNER: "owner",
}

# Whole seconds from filing to an instant (both are stored to the second).
_SECONDS = "extract(epoch FROM {at} - created_at)::float8"
_ACK_ROWS = f"""acknowledged_at >= {S} AND acknowledged_at < {E}"""
_FIX_ROWS = f"""resolved_at >= {S} AND resolved_at < {E} AND {_RES}"""


@functools.lru_cache(maxsize=32)
def _median_sql(key: str, leadership: bool) -> str:
    """The medians of the period's acknowledgements and standing
    resolutions, per group (``key``), in one statement."""
    sc = _scope(leadership=leadership)
    return f"""
SELECT what, key, percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM (
    SELECT 'ack' AS what, {key} AS key, {_SECONDS.format(at="acknowledged_at")} AS v
        FROM complaints WHERE {sc} AND {_ACK_ROWS}
    UNION ALL
    SELECT 'fix', {key}, {_SECONDS.format(at="resolved_at")}
        FROM complaints WHERE {sc} AND {_FIX_ROWS}
) v GROUP BY what, key
"""


# Received and resolved on time, week by week: the chart's two series.
@functools.lru_cache(maxsize=8)
def _trend_sql(leadership: bool) -> str:
    sc = _scope(leadership=leadership)
    return f"""
SELECT b.i,
    (SELECT COUNT(*) FROM complaints WHERE {sc} AND created_at >= b.s AND created_at < b.e),
    (SELECT COUNT(*) FROM complaints WHERE {sc}
        AND resolved_at >= b.s AND resolved_at < b.e AND {_RES}
        AND (resolved_at <= due_at OR paused_since <= due_at))
FROM unnest($2::timestamptz[], $3::timestamptz[]) WITH ORDINALITY AS b(s, e, i) ORDER BY b.i
"""


_OUTCOME_SQL = (
    "CASE WHEN f.on_time THEN 'on_time' WHEN f.late THEN 'late'"
    " WHEN f.rejected THEN 'rejected' WHEN f.withdrawn THEN 'withdrawn'"
    " WHEN f.in_progress THEN 'in_progress' WHEN f.overdue THEN 'overdue' END"
)


class PostgresDigestStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def _all(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """One statement: its own consistent snapshot, on a pool connection
        (never the bot's handlers' turn)."""
        return await self.db.fetch(sql, *args)

    @staticmethod
    def _params(period: Period, wards: Sequence[str]) -> tuple[Any, ...]:
        return list(wards), instant(period.start), instant(period.end)

    async def tally(
        self,
        period: Period,
        wards: Sequence[str],
        dimensions: Sequence[Dimension],
        *,
        leadership: bool = True,
    ) -> dict[Dimension, dict[str, Counts]]:
        """The counts of ``period`` in ``wards``, grouped each way asked, in
        one statement grouped by every key at once, then added up here."""
        if not dimensions:
            return {}
        keys = sorted({_KEY_SQL[d] for d in dimensions if d is not Dimension.SCOPE})
        rows = await self._all(_tally_sql(tuple(keys), leadership), *self._params(period, wards))
        return add_up((tuple(r) for r in rows), keys, dimensions, _KEY_SQL)

    async def timing(
        self,
        period: Period,
        wards: Sequence[str],
        dimension: Dimension = Dimension.SCOPE,
        *,
        leadership: bool = True,
    ) -> dict[str, Timing]:
        rows = await self._all(
            _median_sql(_KEY_SQL[dimension], leadership), *self._params(period, wards)
        )
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
            _flags(leadership) + "SELECT id, owner, ward, due_at, end_judged FROM f"
            " WHERE overdue ORDER BY due_at, id LIMIT $4",
            *self._params(Period.moment(at), wards),
            limit,
        )
        return [Overdue(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def trend(
        self, weeks: Sequence[Period], wards: Sequence[str], *, leadership: bool = True
    ) -> list[tuple[int, int]]:
        """(received, resolved on time) of each week, in one statement."""
        rows = await self._all(
            _trend_sql(leadership),
            list(wards),
            [instant(w.start) for w in weeks],
            [instant(w.end) for w in weeks],
        )
        return [(int(r[1]), int(r[2])) for r in rows]

    async def sightings(
        self, start: datetime, end: datetime, wards: Sequence[str], *, leadership: bool = True
    ) -> list[Sighting]:
        """Complaints received in ``[start, end)`` for hotspot detection,
        without the rejected and withdrawn; each open or not at ``end``."""
        rows = await self._all(
            "SELECT id, category, area, created_at,"
            f" NOT ({_RES} AND (resolved_at < {E}) IS TRUE) AS open_end, lat, lon, {_FOLLOWERS}"
            f" FROM complaints WHERE {_scope(leadership=leadership)} AND created_at >= {S}"
            f" AND created_at < {E} AND state NOT IN ('rejected', 'withdrawn') ORDER BY id",
            list(wards),
            instant(start),
            instant(end),
        )
        return [
            Sighting(
                id_,
                category,
                area,
                created_at,
                open_end,
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
            _flags(leadership) + f"SELECT c.*, {_OUTCOME_SQL} AS outcome FROM f JOIN complaints c"
            " ON c.id = f.id WHERE f.received OR f.on_time OR f.late OR f.in_progress"
            " OR f.overdue OR f.rejected OR f.withdrawn ORDER BY c.id",
            *self._params(period, wards),
        )
        return [(complaint_from_row(r, []), Outcome(r["outcome"])) for r in rows]

    async def shown_reporters(self, complaint_ids: Sequence[int]) -> dict[int, str]:
        """The reporters' names of those complaints whose reporter let staff
        see it (and has not asked to be forgotten): an export's column."""
        rows = await self._all(
            "SELECT cp.complaint_id, p.display_name FROM complaint_people cp"
            " JOIN people p ON p.id = cp.person_id"
            " WHERE cp.complaint_id = ANY($1::bigint[]) AND cp.role = 'reporter'"
            " AND cp.show_name AND p.display_name IS NOT NULL",
            list(complaint_ids),
        )
        return {int(r[0]): str(r[1]) for r in rows}

    async def record_run(self, week: str, notices: Sequence[Notice], at: datetime) -> bool:
        """Queue the week's digests unless they were queued already: the row
        and the outbox rows are written together or not at all (and of two
        processes at once, one does it)."""
        async with self.db.transaction() as conn:
            new = await conn.fetchval(
                "INSERT INTO digest_runs (week, queued_at, recipients) VALUES ($1, $2, $3)"
                " ON CONFLICT (week) DO NOTHING RETURNING 1",
                week,
                instant(at),
                len(notices),
            )
            if new is None:
                return False
            self.db.outbox_changes += await insert_notices(conn, notices, at)
        return True

    async def has_run(self, week: str | None = None) -> bool:
        """Whether ``week``'s digests were queued (any week's, when None)."""
        if week is None:
            found = await self.db.fetchval("SELECT 1 FROM digest_runs LIMIT 1")
        else:
            found = await self.db.fetchval("SELECT 1 FROM digest_runs WHERE week = $1", week)
        return found is not None

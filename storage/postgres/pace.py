"""The platforms' per-bot rates, kept by every bot process together.

Telegram lets a bot send about 30 messages a second in all, whichever
process sends them; Zalo's rate is configured (``PHANANH_ZALO_RATE``).  Each
process paces its sends (handlers/telegram/ratelimit.py, bot/app/pacing.py)
by slots it reserves here: one row per bucket ("telegram", "zalo") holds the
moment its next message may leave, and one statement moves it on by the gap
between two messages, atomically (the row's lock orders processes that ask
at once), and says how long the asker must wait for the slot it got.

The time is the database server's (``clock_timestamp()``): the processes'
own clocks may differ, the server's is one.  The table is UNLOGGED — no WAL
and no flush to disk per message; emptied by a server crash, after which
the next message simply leaves at once.  One round trip per message is the
cost (bench/pace.py measures it).
"""

from __future__ import annotations

from storage.postgres.db import Database

_SLOT = (
    "INSERT INTO send_pace AS p (bucket, next_at)"
    " VALUES ($1, clock_timestamp() + make_interval(secs => $2))"
    " ON CONFLICT (bucket) DO UPDATE"
    " SET next_at = GREATEST(p.next_at, clock_timestamp()) + make_interval(secs => $2)"
    " RETURNING GREATEST(EXTRACT(EPOCH FROM p.next_at - clock_timestamp()) - $2, 0)::float8"
)
_HOLD = (
    "INSERT INTO send_pace AS p (bucket, next_at)"
    " VALUES ($1, clock_timestamp() + make_interval(secs => $2))"
    " ON CONFLICT (bucket) DO UPDATE"
    " SET next_at = GREATEST(p.next_at, clock_timestamp() + make_interval(secs => $2))"
)


class PostgresPace:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def slot(self, bucket: str, gap: float) -> float:
        """Reserve the bucket's next slot — ``gap`` seconds after the one
        before it, and not before now — and return the seconds until it."""
        wait: float = await self.db.fetchval(_SLOT, bucket, gap)
        return wait

    async def hold(self, bucket: str, seconds: float) -> None:
        """No slot of the bucket before ``seconds`` from now (a 429)."""
        await self.db.execute(_HOLD, bucket, seconds)

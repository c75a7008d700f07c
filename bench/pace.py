"""What the shared send rate costs each message (storage/postgres/pace.py).

With several bot processes on one PostgreSQL database, every message's slot
is reserved in the database: one statement (an upsert on one row of an
unlogged table) before each send.  Measured against a throwaway cluster
(tests/pgserver.py) or the database named by ``PHANANH_BENCH_PG``:

- one process reserving slots one after another (the statement's own cost),
  against ``SELECT 1`` through the same pool (a bare round trip);
- three processes (three pools) reserving at once, as three bot processes
  behind a load balancer would: what the row's lock adds under contention.

The gap asked for is a microsecond, so no slot waits: what is measured is
the reservation, not the pacing.  Each number is the median of `ROUNDS`
rounds of `CALLS` calls.  Run: ``.venv/bin/python -m bench.pace`` (a
measurement for the README, not one of `make bench`'s rows).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable

from bot.config import PostgresUrl
from storage.postgres.db import Database
from storage.postgres.pace import PostgresPace

CALLS = 2_000
ROUNDS = 5
PROCESSES = 3
GAP = 1e-6


async def _per_call(call: Callable[[], Awaitable[object]]) -> float:
    """Microseconds per call, ``CALLS`` in a row."""
    began = time.perf_counter()
    for _ in range(CALLS):
        await call()
    return (time.perf_counter() - began) / CALLS * 1e6


async def measure(url: PostgresUrl) -> dict[str, float]:
    dbs = [await Database.open(url) for _ in range(PROCESSES)]
    try:
        paces = [PostgresPace(db) for db in dbs]
        samples: dict[str, list[float]] = {"select": [], "slot": [], "slot_3": []}
        for _ in range(ROUNDS):
            samples["select"].append(await _per_call(lambda: dbs[0].fetchval("SELECT 1")))
            samples["slot"].append(await _per_call(lambda: paces[0].slot("bench", GAP)))
            together = await asyncio.gather(
                *(_per_call(lambda p=p: p.slot("bench", GAP)) for p in paces)
            )
            samples["slot_3"].append(statistics.mean(together))
        return {name: statistics.median(values) for name, values in samples.items()}
    finally:
        for db in dbs:
            await db.close()


async def main() -> None:
    url = os.environ.get("PHANANH_BENCH_PG")
    if url:
        results = await measure(PostgresUrl.parse(url))
    else:
        from tests.pgserver import TEMPLATE, find_binaries, throwaway_cluster

        binaries = find_binaries()
        if binaries is None:
            raise SystemExit("no PostgreSQL server binaries: set PHANANH_BENCH_PG")
        with throwaway_cluster(binaries) as cluster:
            results = await measure(PostgresUrl.parse(cluster.url(TEMPLATE)))
    select, slot, three = results["select"], results["slot"], results["slot_3"]
    print(
        f"a shared slot: {slot:.0f} µs per message alone ({slot / select:.2f}× a bare"
        f" SELECT 1, {select:.0f} µs), {three:.0f} µs with {PROCESSES} processes at once"
        f" ({three / select:.2f}×); at 28 messages a second, {28 * three / 1e3:.0f} ms of"
        " each second spent reserving"
    )


if __name__ == "__main__":
    asyncio.run(main())

"""What the people who keep the bot running watch: ``/metrics`` in the
Prometheus text format, ``/healthz`` and ``/readyz``, on the bot's one HTTP
server (bot/http.py).

The counting is done where the events happen, each telling this module in
a word from a fixed list — never a person, a chat, a text or a code, so no
label can carry personal data:

- an update handled (its channel and kind, and how long it took): the
  Telegram Application (handlers/telegram/metered.py) and Zalo's receiver;
- every call to a messenger's API and its answer (the Bot API requests of
  handlers/telegram/metered.py, Zalo's client): the sends by result, and
  each channel's last answer for the readiness check;
- an outbox row delivered, by kind (the digest among them): the delivery
  loop, through the `Observer` port (bot/ports.py), so the use cases
  never import prometheus_client;
- the sweep's duration and what it found due: the runtime's periodic job.

What only the database knows — the outbox's backlog, the complaints not
closed by ward and state group, the overdue — is read when Prometheus
scrapes, one aggregate query each on indexes the tables already have
(storage/*/health.py), and kept for `DB_READ_SECONDS` of the injected clock:
two Prometheus servers, or an operator refreshing the page, do not double
the work, and a value is never older than a scrape interval.

The registry is this object's own, not prometheus_client's global one:
each runtime (and so each test) counts from zero.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from bot.app.digests import DIGEST
from bot.domain.clock import Clock
from bot.ports import HealthStore, OutboxBacklog, WardLoad

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.responses import Response

    from bot.http import HttpServer

PREFIX = "phananh"
# The classic text format, which every Prometheus (and VictoriaMetrics,
# Grafana Agent…) reads.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# No ``…_created`` series beside each counter: they double the lines, and
# Prometheus works out resets by itself.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream
METRICS_PATH = "/metrics"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"

# The database's values are read again when older than this (see above).
DB_READ_SECONDS = 10.0
# The readiness check's database round trip, at most.
PING_SECONDS = 2.0
# A channel whose API calls have failed for this long (no good answer since) is not ready.
API_STALE = timedelta(minutes=5)
# The sweep is late when it has not finished for this many of its periods
# (PHANANH_SWEEP_SECONDS; 5 minutes at the default 30 s)…
SWEEP_PERIODS = 10
# …and never sooner than this (a sweep with much due takes a while).
SWEEP_STALE_MIN = timedelta(minutes=2)

# Handling an update is tens of milliseconds; a photo's download or a slow
# database can take seconds.
UPDATE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
SWEEP_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


def send_result(status: int) -> str:
    """A messenger's answer to a send, in the words of the ``result``
    label: ``ok``, ``429`` (slow down), ``5xx`` (the platform's fault),
    ``blocked`` (403: the person blocked the bot or never started it),
    ``refused`` (any other 4xx: this message will never be taken),
    ``network`` (no answer at all; 0)."""
    if status == 0:
        return "network"
    if 200 <= status < 300:
        return "ok"
    if status == 429:
        return "429"
    if status == 403:
        return "blocked"
    if status >= 500:
        return "5xx"
    return "refused"


def answered(status: int) -> bool:
    """Whether an answer shows the platform working for this bot: it
    answered, not with a fault of its own (5xx) nor refusing the token (401)."""
    return status != 0 and status < 500 and status != 401


def is_send(method: str) -> bool:
    """A Bot API method that sends a message (both messengers name them
    ``send…``); "typing…" is not one."""
    return method.startswith("send") and method != "sendChatAction"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class _ApiState:
    last_answer: datetime | None = None  # the last call the platform answered
    last_failure: datetime | None = None  # the last call it did not


@dataclass(frozen=True)
class _DbValues:
    at: datetime
    backlog: OutboxBacklog
    wards: list[WardLoad]


class Metrics:
    """The registry, its instruments and the readiness checks of one runtime.

    It is the `Observer` the use cases tell (bot/ports.py) and what the
    channels call for updates and API answers."""

    def __init__(
        self,
        clock: Clock,
        health: HealthStore | None = None,
        *,
        sweep_seconds: int = 30,
    ) -> None:
        self.clock = clock
        self.health = health
        self.sweep_stale = max(timedelta(seconds=sweep_seconds * SWEEP_PERIODS), SWEEP_STALE_MIN)
        self.sweeps = True  # whether this process sweeps (readiness checks that it does)
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.updates = Counter(
            f"{PREFIX}_updates",
            "Updates handled, by channel and kind (text, command, photo, button…).",
            ["channel", "kind"],
            registry=r,
        )
        self.update_seconds = Histogram(
            f"{PREFIX}_update_handling_seconds",
            "How long handling one update took, by channel.",
            ["channel"],
            buckets=UPDATE_BUCKETS,
            registry=r,
        )
        self.sends = Counter(
            f"{PREFIX}_sends",
            "Messages sent to a messenger's API, by channel and result"
            " (ok, 429, 5xx, blocked, refused, network).",
            ["channel", "result"],
            registry=r,
        )
        self.api_answer = Gauge(
            f"{PREFIX}_api_last_answer_timestamp_seconds",
            "When the channel's API last answered a call (Unix time).",
            ["channel"],
            registry=r,
        )
        self.delivered_rows = Counter(
            f"{PREFIX}_outbox_delivered",
            "Outbox rows delivered whole, by channel and notice kind.",
            ["channel", "kind"],
            registry=r,
        )
        self.digests = Counter(
            f"{PREFIX}_digests_sent",
            "Weekly digests delivered to leaders, by channel.",
            ["channel"],
            registry=r,
        )
        self.sweep_seconds = Histogram(
            f"{PREFIX}_sweep_duration_seconds",
            "How long one sweep took (reminders, escalations, briefing, digest).",
            buckets=SWEEP_BUCKETS,
            registry=r,
        )
        self.sweep_due = Gauge(
            f"{PREFIX}_sweep_rows_due",
            "Complaints the last sweep found due.",
            registry=r,
        )
        self.sweep_last = Gauge(
            f"{PREFIX}_sweep_last_run_timestamp_seconds",
            "When the last sweep finished (Unix time).",
            registry=r,
        )
        self._api: dict[str, _ApiState] = {}
        self._started = clock.now()
        self._swept_at: datetime | None = None
        self._db: _DbValues | None = None
        self._db_lock = asyncio.Lock()
        r.register(_DatabaseCollector(self))

    # ---- what the parts tell ----------------------------------------------------------------

    def expect_channel(self, channel: str) -> None:
        """A channel this runtime runs: checked by /readyz from the start."""
        self._api.setdefault(channel, _ApiState())

    def update_handled(self, channel: str, kind: str, seconds: float) -> None:
        self.updates.labels(channel, kind).inc()
        self.update_seconds.labels(channel).observe(seconds)

    def api_answer_of(self, channel: str, method: str, status: int) -> None:
        """One call to a channel's API: its HTTP status (0: no answer)."""
        if is_send(method):
            self.sends.labels(channel, send_result(status)).inc()
        state = self._api.setdefault(channel, _ApiState())
        now = self.clock.now()
        if answered(status):
            state.last_answer = now
            self.api_answer.labels(channel).set(now.timestamp())
        else:
            state.last_failure = now

    def delivered(self, channel: str, kind: str) -> None:
        self.delivered_rows.labels(channel, kind).inc()
        if kind == DIGEST:
            self.digests.labels(channel).inc()

    def swept(self, seconds: float, due: int) -> None:
        self.sweep_seconds.observe(seconds)
        self.sweep_due.set(due)
        self._swept_at = self.clock.now()
        self.sweep_last.set(self._swept_at.timestamp())

    # ---- the database's values --------------------------------------------------------------

    async def read_database(self) -> None:
        """The database's values, read again when older than
        `DB_READ_SECONDS`; when the database does not answer they are left
        out (and ``phananh_database_up`` is 0)."""
        if self.health is None:
            return
        async with self._db_lock:
            now = self.clock.now()
            held = self._db
            if held is not None and (now - held.at).total_seconds() < DB_READ_SECONDS:
                return
            try:
                async with asyncio.timeout(PING_SECONDS):
                    backlog = await self.health.outbox_backlog(now)
                    wards = await self.health.ward_load(now)
            except Exception:
                self._db = None
                return
            self._db = _DbValues(now, backlog, wards)

    def database_values(self) -> _DbValues | None:
        return self._db

    async def exposition(self) -> bytes:
        """The text Prometheus scrapes."""
        await self.read_database()
        return generate_latest(self.registry)

    # ---- readiness --------------------------------------------------------------------------

    async def checks(self) -> list[Check]:
        """The database answers, each channel's API answers, the sweep runs."""
        now = self.clock.now()
        found = [await self._database()]
        for channel, state in sorted(self._api.items()):
            found.append(self._channel(channel, state, now))
        if not self.sweeps:  # `phananh serve`: the bot beside it sweeps
            return found
        swept = self._swept_at or self._started
        late = now - swept
        found.append(
            Check(
                "sweep",
                late <= self.sweep_stale,
                f"last finished {int(late.total_seconds())} s ago"
                f" (at most {int(self.sweep_stale.total_seconds())} s)"
                if self._swept_at
                else f"none yet, {int(late.total_seconds())} s after the start",
            )
        )
        return found

    async def _database(self) -> Check:
        if self.health is None:
            return Check("database", False, "no database")
        try:
            async with asyncio.timeout(PING_SECONDS):
                await self.health.ping()
        except Exception as exc:
            return Check("database", False, f"no answer ({type(exc).__name__})")
        return Check("database", True, "answers")

    @staticmethod
    def _channel(channel: str, state: _ApiState, now: datetime) -> Check:
        """Ready while the API answers: its last call answered, or the last
        answer is recent (a failure now and then is the platform's weather)."""
        name = f"channel:{channel}"
        if state.last_answer is None:
            return Check(name, False, "its API has not answered yet")
        age = now - state.last_answer
        failing = state.last_failure is not None and state.last_failure > state.last_answer
        ok = not failing or age <= API_STALE
        detail = f"last answer {int(age.total_seconds())} s ago"
        if failing:
            detail += f"; failing since (not ready after {int(API_STALE.total_seconds())} s)"
        return Check(name, ok, detail)


class _DatabaseCollector(Collector):
    """The database's values as gauges, from the last read (`Metrics.read_database`)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> list[Metric]:
        return []  # not known before a read; nothing here clashes with the rest

    def collect(self) -> Iterator[Metric]:
        values = self.metrics.database_values()
        up = GaugeMetricFamily(
            f"{PREFIX}_database_up", "Whether the database answered the last read (1) or not (0)."
        )
        up.add_metric([], 1 if values is not None else 0)
        yield up
        if values is None:
            return
        backlog = values.backlog
        yield GaugeMetricFamily(
            f"{PREFIX}_outbox_pending",
            "Outbox rows not sent yet (and not given up), due now or later"
            " (held for the end of the quiet hours, or for a retry).",
            value=backlog.pending,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_outbox_due", "Outbox rows due now and not sent yet.", value=backlog.due
        )
        oldest = 0.0
        if backlog.oldest_due is not None:
            oldest = max((values.at - backlog.oldest_due).total_seconds(), 0.0)
        yield GaugeMetricFamily(
            f"{PREFIX}_outbox_oldest_due_age_seconds",
            "How long ago the oldest outbox row due now was written (0: none due).",
            value=oldest,
        )
        complaints = GaugeMetricFamily(
            f"{PREFIX}_complaints",
            "Complaints not closed, by ward and state group (open, resolved: waiting"
            " for the resident).",
            labels=["ward", "group"],
        )
        overdue = GaugeMetricFamily(
            f"{PREFIX}_complaints_overdue",
            "Open complaints past their deadline, by ward (as the digest counts them).",
            labels=["ward"],
        )
        for load in values.wards:
            for group, count in sorted(load.groups.items()):
                complaints.add_metric([load.ward, group], count)
            overdue.add_metric([load.ward], load.overdue)
        yield complaints
        yield overdue


# ---- the routes -----------------------------------------------------------------------------


def add_routes(server: HttpServer, metrics: Metrics, *, listen: bool) -> None:
    """``/metrics``, ``/healthz`` and ``/readyz`` on the bot's server.
    ``listen``: these alone are a reason to listen (PHANANH_HTTP_PORT set)."""

    async def exposition(request: Request) -> Response:
        from starlette.responses import Response

        body = await metrics.exposition()
        return Response(body, headers={**_NO_STORE, "Content-Type": CONTENT_TYPE})

    async def alive(request: Request) -> Response:
        from starlette.responses import PlainTextResponse

        return PlainTextResponse("ok\n", headers=_NO_STORE)

    async def ready(request: Request) -> Response:
        from starlette.responses import Response

        found = await metrics.checks()
        ok = all(check.ok for check in found)
        body = {
            "ready": ok,
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in found},
        }
        return Response(
            json.dumps(body, ensure_ascii=False, indent=1) + "\n",
            status_code=200 if ok else 503,
            media_type="application/json",
            headers=_NO_STORE,
        )

    server.add_route(METRICS_PATH, exposition, listen=listen)
    server.add_route(HEALTH_PATH, alive, listen=listen)
    server.add_route(READY_PATH, ready, listen=listen)


_NO_STORE = {"Cache-Control": "no-store"}

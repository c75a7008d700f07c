"""Open311 GeoReport v2 (the open standard city platforms exchange 311
requests with), as far as it is rules rather than plumbing: which
complaints are published, what their status is, how a ``GET requests``
query is read, and what of a description may be shown.

What is published never identifies a resident: no names, no contact, no
account ids; complaints about officials are not published at all; and a
description or a note is shown only with the personal data in it masked.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from bot.domain.complaints import Action, State, parse_code
from bot.domain.orgchart import Family

# The specification's limits on ``GET requests``.
MAX_REQUESTS = 1000
WINDOW = timedelta(days=90)
# The years a ``start_date`` or ``end_date`` may name: nothing was filed
# before the first, and a year far out of this range (0001, 9999) would
# take the 90-day window past what a date can hold.
FIRST_YEAR, LAST_YEAR = 1970, 2100
# The specification allows 4,000 characters; a chat report takes 2,000 (Zalo's
# limit, so the task card reads the same on every channel), and so does a POST.
DESCRIPTION_MAX = 2000

# Never published, not even their existence.
UNPUBLISHED_FAMILIES = frozenset({Family.OFFICIAL_CONDUCT})

# The notes the office addresses to the resident: the last of them is a
# request's ``status_notes`` (a transfer's reason or a leader's remark is internal).
PUBLIC_NOTES = (Action.REPLY, Action.RESOLVE, Action.REJECT, Action.EXTEND)

# What does not change a request: its ``updated_datetime`` is the last other
# event (for a closed request, the specification says, when it was closed).
NOT_UPDATES = (Action.RATE,)

OPEN, CLOSED = "open", "closed"


# Not published at all: a complaint the resident took back, and one the ward
# rejected (a duplicate, not its remit, or abusive): what a city's platform
# shows is the problems being handled, not what was withdrawn or refused.
UNPUBLISHED_STATES = frozenset({State.WITHDRAWN, State.REJECTED})


def status_of(state: State) -> str:
    """Open311 knows two statuses: a complaint someone must still act on is
    open; one the cadre reported fixed (waiting for the resident) or that
    is closed is closed, as FixMyStreet publishes its "fixed" group."""
    return OPEN if state.is_open else CLOSED


STATES_OF: dict[str, frozenset[State]] = {
    status: frozenset(s for s in State if status_of(s) == status) - UNPUBLISHED_STATES
    for status in (OPEN, CLOSED)
}


class QueryError(Exception):
    """A request the specification calls bad (400): ``key`` and ``params``
    say why, in the catalogue's words."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class RequestQuery:
    """What ``GET requests`` asks for.  ``ids`` set: those requests and
    nothing else (the specification: it overrides every other argument)."""

    ids: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None
    states: tuple[State, ...] = ()


def _listed(value: str | None) -> list[str]:
    """A comma-delimited parameter's values (the specification lets several
    be declared that way)."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def request_id(text: str) -> int | None:
    """A ``service_request_id``: the tracking code (``PA-000123``) or its number."""
    text = text.strip()
    if text.isdecimal() and 0 < len(text) <= 12:
        return int(text) or None
    return parse_code(text)


def parse_instant(text: str, tz: tzinfo) -> datetime:
    """A w3 date-time (``2010-04-14T06:37:38-08:00``, ``…Z``) or a date; one
    without a zone is the ward's time.  Only years `FIRST_YEAR` to
    `LAST_YEAR`: the window around an instant must stay within what a
    datetime holds."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise QueryError("open311.bad_date", value=text[:40]) from None
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise QueryError(
            "open311.date_out_of_range", value=text[:40], first=str(FIRST_YEAR), last=str(LAST_YEAR)
        )
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def _date_only(text: str) -> bool:
    """``2026-11-23``, not a date-time."""
    return len(text.strip()) == len("2026-11-23")


def parse_query(
    params: Mapping[str, str], now: datetime, tz: tzinfo, categories: Collection[str]
) -> RequestQuery:
    """``GET requests``' parameters read as the specification says: a list
    of ids overrides the rest; otherwise the last 90 days unless dates say
    otherwise (at most 90 days between them), at most 1,000 newest first."""
    ids_given = _listed(params.get("service_request_id"))
    if ids_given:
        ids = [request_id(i) for i in ids_given]
        if any(i is None for i in ids):
            raise QueryError("open311.bad_id")
        wanted = dict.fromkeys(i for i in ids if i is not None)
        return RequestQuery(ids=tuple(wanted)[:MAX_REQUESTS])
    codes = _listed(params.get("service_code"))
    unknown = [c for c in codes if c not in categories]
    if unknown:
        raise QueryError("open311.unknown_service", code=unknown[0][:40])
    statuses = _listed(params.get("status"))
    if any(s not in STATES_OF for s in statuses):
        raise QueryError("open311.bad_status")
    start_text, end_text = params.get("start_date"), params.get("end_date")
    start = parse_instant(start_text, tz) if start_text else None
    end = parse_instant(end_text, tz) if end_text else None
    if end is not None and end_text is not None and _date_only(end_text):
        end += timedelta(days=1, microseconds=-1)  # a date: to the end of that day
    if end is None:
        # From a start on, the 90 days after it (no further than now).
        end = now if start is None else min(now, start + WINDOW)
    if start is None:
        start = end - WINDOW
    if start > end:
        raise QueryError("open311.dates_reversed")
    if end - start > WINDOW:
        raise QueryError("open311.dates_too_far", days=WINDOW.days)
    states = sorted({s for status in statuses for s in STATES_OF[status]})
    return RequestQuery(
        categories=tuple(dict.fromkeys(codes)), start=start, end=end, states=tuple(states)
    )

"""The dashboard's sign-in links and sessions (bot/ports.py `WebStore`),
the same contract on SQLite and on PostgreSQL: a link is used once, only
before it expires; a session answers until it expires or is ended; ending
a leader's sessions also voids their unused links."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.web import token_hash
from storage.engines import Storage
from tests.engines import rows

pytestmark = pytest.mark.both_engines

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
LINK = token_hash("link")
SESSION = token_hash("session")


async def test_a_link_opens_one_session_and_only_once(storage: Storage) -> None:
    web = storage.web()
    await web.add_signin(LINK, "ld-hh-ct", NOW, NOW + timedelta(minutes=15))
    at = NOW + timedelta(minutes=1)
    assert await web.open_session(LINK, SESSION, at, at + timedelta(hours=12)) == "ld-hh-ct"
    assert await web.open_session(LINK, token_hash("again"), at, at + timedelta(hours=12)) is None
    assert await web.session_staff(SESSION, at) == "ld-hh-ct"
    assert await web.session_staff(token_hash("again"), at) is None


async def test_a_link_used_twice_at_once_opens_one_session(storage: Storage) -> None:
    web = storage.web()
    await web.add_signin(LINK, "ld-hh-ct", NOW, NOW + timedelta(minutes=15))
    until = NOW + timedelta(hours=12)
    opened = await asyncio.gather(
        *(web.open_session(LINK, token_hash(f"s{i}"), NOW, until) for i in range(4))
    )
    assert sorted(opened, key=str) == [None, None, None, "ld-hh-ct"]


async def test_an_expired_or_unknown_link_opens_nothing(storage: Storage) -> None:
    web = storage.web()
    await web.add_signin(LINK, "ld-hh-ct", NOW, NOW + timedelta(minutes=15))
    late = NOW + timedelta(minutes=15)
    assert await web.open_session(LINK, SESSION, late, late + timedelta(hours=12)) is None
    assert await web.open_session(token_hash("x"), SESSION, NOW, NOW + timedelta(hours=1)) is None
    assert await rows(storage, "SELECT COUNT(*) FROM web_sessions") == [(0,)]


async def test_a_session_ends_when_it_expires_or_is_ended(storage: Storage) -> None:
    web = storage.web()
    await web.add_signin(LINK, "ld-hh-ct", NOW, NOW + timedelta(minutes=15))
    await web.open_session(LINK, SESSION, NOW, NOW + timedelta(hours=12))
    assert await web.session_staff(SESSION, NOW + timedelta(hours=11, minutes=59)) == "ld-hh-ct"
    assert await web.session_staff(SESSION, NOW + timedelta(hours=12)) is None
    assert await web.end_session(SESSION, NOW)
    assert not await web.end_session(SESSION, NOW)
    assert await web.session_staff(SESSION, NOW) is None


async def test_ending_a_leaders_sessions_voids_their_links_too(storage: Storage) -> None:
    web = storage.web()
    until = NOW + timedelta(hours=12)
    for n in (1, 2):
        await web.add_signin(token_hash(f"l{n}"), "ld-hh-ct", NOW, NOW + timedelta(minutes=15))
        await web.open_session(token_hash(f"l{n}"), token_hash(f"s{n}"), NOW, until)
    await web.add_signin(token_hash("other"), "ld-bd-ct", NOW, NOW + timedelta(minutes=15))
    await web.open_session(token_hash("other"), token_hash("s-other"), NOW, until)
    await web.add_signin(LINK, "ld-hh-ct", NOW, NOW + timedelta(minutes=15))
    assert await web.end_sessions_of("ld-hh-ct", NOW) == 2
    assert await web.session_staff(token_hash("s1"), NOW) is None
    assert await web.open_session(LINK, SESSION, NOW, until) is None
    assert await web.session_staff(token_hash("s-other"), NOW) == "ld-bd-ct"


async def test_only_hashes_are_kept_and_old_rows_are_cleared(storage: Storage) -> None:
    web = storage.web()
    await web.add_signin(LINK, "ld-hh-ct", NOW, NOW + timedelta(minutes=15))
    kept = await rows(storage, "SELECT token_hash FROM web_signins")
    assert kept == [(LINK,)] and "link" not in str(kept)
    later = NOW + timedelta(days=2)
    await web.add_signin(token_hash("new"), "ld-hh-ct", later, later + timedelta(minutes=15))
    assert await rows(storage, "SELECT token_hash FROM web_signins") == [(token_hash("new"),)]

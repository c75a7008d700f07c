"""Signing in to the leaders' dashboard (bot/web/): no passwords, a
one-time link instead.

A leader types ``/web`` in the chat (or the city's IT runs ``phananh web
link``) and gets a link to ``PHANANH_PUBLIC_URL`` + ``/web/signin/<token>``,
valid `SIGNIN_LIFETIME` and usable once.  Opening it and pressing "sign in"
starts a session: a random id in a cookie, valid `SESSION_LIFETIME`.  Only
the SHA-256 of the link's token and of the session's id are kept (the
database alone lets nobody in), so any process on the database serves the
session, and ``phananh web revoke`` ends it.

Every request asks who the session is *now*: a leader deactivated, or no
longer a leader in the org chart, is signed out at their next click, and
sees exactly what the chat would show them (their wards, or the city).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.app.core import SignInLink
from bot.app.services import Services
from bot.domain.authz import Actor
from bot.domain.orgchart import StaffMember
from bot.ports import WebStore

SIGNIN_LIFETIME = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
SIGNIN_PATH = "/web/signin/"
# secrets.token_urlsafe(32): 43 characters of the URL-safe alphabet.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")


def token_hash(token: str) -> str:
    """What is kept of a link's token or a session's id: its SHA-256 (they
    are 32 random bytes, so no salt or slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def well_formed(token: str) -> bool:
    return bool(_TOKEN.match(token))


@dataclass(frozen=True)
class Session:
    """A session just started: the id for the cookie (never kept), whose
    it is, and until when."""

    id: str
    staff_id: str
    expires_at: datetime


class WebAccess:
    """Sign-in links, sessions, and who a session is."""

    def __init__(self, store: WebStore, services: Services, public_url: str) -> None:
        self.store = store
        self.services = services
        self.public_url = public_url.rstrip("/")

    @property
    def available(self) -> bool:
        """A link needs the bot's public address to point at."""
        return bool(self.public_url)

    def leader(self, staff_id: str) -> StaffMember | None:
        """The staff member, if they may use the dashboard now: in the org
        chart, active, a ward or city leader."""
        if not self.services.has_chart:
            return None
        staff = self.services.chart.staff.get(staff_id)
        if staff is None or not staff.active:
            return None
        return staff if Actor(0, staff=staff).is_leader else None

    async def link_for(self, staff_id: str) -> SignInLink:
        """A new one-time link for this leader (the caller checked they are one)."""
        token = secrets.token_urlsafe(32)
        now = self.services.now()
        expires = now + SIGNIN_LIFETIME
        await self.store.add_signin(token_hash(token), staff_id, now, expires)
        return SignInLink(f"{self.public_url}{SIGNIN_PATH}{token}", expires)

    async def sign_in(self, token: str) -> Session | None:
        """Use a link: a session for its leader, or None when the link is
        forged, used, expired, or its leader is one no longer."""
        if not well_formed(token):
            return None
        session_id = secrets.token_urlsafe(32)
        now = self.services.now()
        expires = now + SESSION_LIFETIME
        staff_id = await self.store.open_session(
            token_hash(token), token_hash(session_id), now, expires
        )
        if staff_id is None:
            return None
        if self.leader(staff_id) is None:
            await self.store.end_session(token_hash(session_id), now)
            return None
        return Session(session_id, staff_id, expires)

    async def actor(self, session_id: str) -> Actor | None:
        """Who a session's cookie is now, as the chat knows them (their
        language, their staff record); None when it is no session, has
        ended, or its leader may no longer sign in."""
        if not well_formed(session_id):
            return None
        staff_id = await self.store.session_staff(token_hash(session_id), self.services.now())
        staff = None if staff_id is None else self.leader(staff_id)
        if staff is None:
            return None
        person = await self.services.store.person_of_staff(staff.id)
        if person is None:  # a link IT made for someone not yet on any channel
            return Actor(0, self.services.default_language, staff)
        return Actor(person.id, person.language, staff)

    async def sign_out(self, session_id: str) -> None:
        if well_formed(session_id):
            await self.store.end_session(token_hash(session_id), self.services.now())

    async def revoke(self, staff_id: str) -> int:
        """End every session of a staff member and void their unused links:
        how many sessions ended."""
        return await self.store.end_sessions_of(staff_id, self.services.now())

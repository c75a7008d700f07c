"""Reading the audit log: a complaint's history — its append-only events,
who acted and what they wrote — and the admin log of the changes made from
the command line (org imports, deactivations, the abuse list).

In chat (``/history CODE``) the authorization table decides who may read a
complaint's history (`bot.domain.authz.READS`); on the command line
(``phananh history``) the operator, who holds the database, reads any.
Nothing here formats text: ``bot/report/history.py`` does.
"""

from __future__ import annotations

from bot.app.services import Services
from bot.domain.authz import Actor, Refusal, View, may_read
from bot.domain.complaints import Trail, parse_code
from bot.ports import AdminEntry


async def trail(services: Services, code_text: str) -> Trail | None:
    """The complaint a typed code names, with its history; None when the
    code names none."""
    complaint_id = parse_code(code_text)
    complaint = None if complaint_id is None else await services.complaint(complaint_id)
    if complaint is None:
        return None
    events = await services.store.events_of(complaint.id)
    return Trail(complaint, tuple(events), await services.reporter_id(complaint.id))


async def trail_for(services: Services, actor: Actor, code_text: str) -> Trail | Refusal:
    """A complaint's history for a person in chat, if the table lets them
    read it; otherwise why not (``NOT_FOUND`` for a code that names nothing,
    so a guessed code reveals nothing)."""
    found = await trail(services, code_text) if services.has_chart else None
    if found is None:
        return Refusal.NOT_FOUND
    refusal = may_read(actor, View.HISTORY, found.complaint, found.reporter_id)
    return found if refusal is None else refusal


async def admin_log(services: Services, limit: int) -> list[AdminEntry]:
    """The last ``limit`` changes made from the command line, oldest first."""
    return await services.store.admin_log(max(1, limit))

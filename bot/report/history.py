"""The audit log as text, in the reader's language: a complaint's history
(one line per event: when, what, who, and what they wrote) and the admin
log.  The same text in chat and on the command line.

Residents appear as "the reporter" or "a resident", never by name: the
history is for the owner and the leaders, and a name is theirs only where
the task card already showed it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.channels import label
from bot.domain.complaints import Event, Trail
from bot.domain.orgchart import OrgChart
from bot.i18n import t
from bot.ports import OPERATOR, AdminEntry
from bot.report.text import Names


def _when(instant: datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).strftime("%d/%m/%Y %H:%M")


def _actor(event: Event, trail: Trail, names: Names) -> str:
    language = names.language
    if event.data.get(OPERATOR) is not None:
        operator = event.data[OPERATOR] or t(language, "history.someone")
        return t(language, "history.by_operator", name=operator)
    if event.actor_staff_id:
        return names.staff(event.actor_staff_id)
    if event.actor_person_id is not None and event.actor_person_id == trail.reporter_id:
        return t(language, "history.by_reporter")
    if event.actor_person_id is not None:
        return t(language, "history.by_resident")
    return t(language, "history.by_system")


def _details(event: Event, names: Names) -> list[str]:
    """What the event's data adds: the new owner, the days, the stars, the
    kind of rejection."""
    language = names.language
    data = event.data
    out = []
    if data.get("to_owner"):
        out.append(t(language, "history.to_owner", name=names.staff(data["to_owner"])))
    if data.get("days"):
        out.append(t(language, "history.days", days=data["days"]))
    if data.get("stars"):
        out.append(t(language, "history.stars", stars=data["stars"]))
    if data.get("reason_kind"):
        out.append(t(language, f"reason.{data['reason_kind']}"))
    return out


def event_line(event: Event, trail: Trail, names: Names, tz: ZoneInfo) -> str:
    language = names.language
    what = " ".join([t(language, f"history.action_{event.action.value}"), *_details(event, names)])
    line = t(
        language,
        "history.line",
        at=_when(event.at, tz),
        action=what,
        actor=_actor(event, trail, names),
    )
    if event.note and OPERATOR not in event.data:  # a chart change's note is the log's own
        line += "\n" + t(language, "history.note", note=event.note)
    return line


def trail_text(trail: Trail, chart: OrgChart, language: str, tz: ZoneInfo) -> str:
    names = Names(chart, language)
    c = trail.complaint
    head = t(
        language,
        "history.title",
        code=c.code,
        category=names.category(c.category),
        area=names.group(c.area),
        state=t(language, f"state.{c.state.value}"),
        owner=names.staff(c.owner),
    )
    return "\n".join([head, *(event_line(e, trail, names, tz) for e in trail.events)])


def _account(entry: AdminEntry, language: str) -> str:
    """The person's accounts as they are now; none: they asked to be forgotten."""
    if not entry.accounts:
        return t(language, "history.account_forgotten")
    return ", ".join(
        t(language, "history.account", channel=label(a.channel), id=a.external_id)
        for a in entry.accounts
    )


def admin_line(entry: AdminEntry, language: str, tz: ZoneInfo) -> str:
    detail = entry.detail
    moved = list(detail.get("moved", []))
    what = t(
        language,
        f"history.admin_{entry.action.value}",
        subject=entry.subject,
        account=_account(entry, language),
        changes=detail.get("changes", 0),
        count=len(moved),
        codes=", ".join(moved) or "—",
        reason=detail.get("reason", ""),
    )
    return t(
        language,
        "history.line",
        at=_when(entry.at, tz),
        action=what,
        actor=entry.actor or t(language, "history.someone"),
    )


def admin_log_text(entries: Sequence[AdminEntry], language: str, tz: ZoneInfo) -> str:
    if not entries:
        return t(language, "history.admin_empty")
    head = t(language, "history.admin_title", count=len(entries))
    return "\n".join([head, *(admin_line(e, language, tz) for e in entries)])

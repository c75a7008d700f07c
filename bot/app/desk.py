"""What a command or a press does, for any channel: which use case, and
what the person who asked is told.

Telegram's handlers (a /command, a button) and Zalo's (a command typed as
words, a number typed for a choice) both come here, so each command is
written once.  A `Said` is what to tell the person, in order: a service's
`Reply` (notes and the next question, which each channel renders its way:
buttons on Telegram, a numbered list on Zalo) and channel-neutral messages
(bot/app/outgoing.py: a text with the choices a person may take, a file).
Words come from the catalogue through the channel's `Presenter`, so a
channel may word a few things its own way (Zalo has no buttons to press).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import time
from typing import Any

from bot import i18n
from bot.app.admin import INVITE_PREFIX, Admin, AdminError
from bot.app.audit import trail_for
from bot.app.digests import Digests, WeekNotBegun
from bot.app.notify import action_choices, digest_messages, task_card, task_list
from bot.app.outgoing import Choices, CommandChoice, FileOut, Outgoing, TextOut
from bot.app.services import Reply, Services
from bot.domain import digest as d
from bot.domain.authz import Actor, Refusal, may_use
from bot.domain.commands import commands_for
from bot.domain.complaints import Action, parse_code
from bot.domain.conversation import Answer, TextAnswer
from bot.domain.messages import text
from bot.domain.tasks import by_urgency, is_late
from bot.domain.text import fold
from bot.ports import ChannelLinks
from bot.report.history import trail_text
from bot.report.present import Presenter
from bot.report.text import period_label, stats_text, week_number

Item = Reply | Outgoing

NEW_REPORT = "new"
# ``/start a-<area>``: a link that starts a report in an area (a QR poster).
_AREA_LINK = re.compile(r"^a-([A-Za-z0-9_-]{1,32})$")
_WEEK = re.compile(r"^\d{4}-?[wW]\d{1,2}$")
_KINDS = {
    "week": d.PeriodKind.WEEK,
    "tuan": d.PeriodKind.WEEK,
    "tuan nay": d.PeriodKind.WEEK,
    "this week": d.PeriodKind.WEEK,
    "month": d.PeriodKind.MONTH,
    "thang": d.PeriodKind.MONTH,
    "thang nay": d.PeriodKind.MONTH,
    "this month": d.PeriodKind.MONTH,
    "year": d.PeriodKind.YEAR,
    "nam": d.PeriodKind.YEAR,
    "nam nay": d.PeriodKind.YEAR,
    "this year": d.PeriodKind.YEAR,
}
# The last complete week, as /digest reports it (typed with or without
# diacritics: "tuần trước", "tuan truoc").
_LAST_WEEK = frozenset({"last week", "tuan truoc", "tuan roi", "lastweek"})
MINE_SHOWN = 30
TASKS_SHOWN = 40
# A staff member's /help: a line per command of their menu (bot/domain/commands.py);
# what they share with residents is one line, under /new.
STAFF_HELP = {
    "tasks": "help.tasks",
    "digest": "help.digest",
    "stats": "help.stats",
    "export": "help.export",
    "web": "help.web",
    "reassign": "help.reassign",
    "extend": "help.extend",
    "invite": "help.invite",
    "status": "help.status",
    "history": "help.history",
    "cancel": "help.cancel",
    "new": "help.as_resident",
    "lang": "help.lang",
    "whoami": "help.whoami",
}


@dataclass
class Said:
    """What to tell the person who acted, in order; ``actor`` is who they
    are now when the action changed it (a language chosen, an invite
    opened), for the rest of the update."""

    items: list[Item] = field(default_factory=list)
    actor: Actor | None = None

    def add(self, *items: Item) -> Said:
        self.items += items
        return self


class Desk:
    """The front desk: every command and every press, channel-neutral."""

    def __init__(
        self,
        services: Services,
        digests: Digests,
        present: Presenter,
        *,
        briefing_at: time = time(7, 30),
    ) -> None:
        self.services = services
        self.digests = digests
        self.present = present
        self.briefing_at = briefing_at  # the morning list's time (PHANANH_BRIEFING_TIME)

    # ---- words ------------------------------------------------------------------------------

    def text(self, actor: Actor, key: str, **params: Any) -> TextOut:
        return TextOut("text", self.present.t(actor.language, key, **params))

    def say(self, actor: Actor, key: str, **params: Any) -> Said:
        return Said([self.text(actor, key, **params)])

    def _not_set_up(self, actor: Actor) -> Said | None:
        return None if self.services.has_chart else self.say(actor, "fallback.not_set_up")

    def greeting(self, actor: Actor, name: str) -> TextOut:
        """Who the bot is, to a resident, with the choice to start a report."""
        lang = actor.language
        choice = CommandChoice(self.present.t(lang, "report.start_button"), NEW_REPORT)
        return TextOut("text", self.present.t(lang, "start.greeting", name=name), ((choice,),))

    async def welcome(self, actor: Actor, name: str) -> TextOut:
        """The greeting by role: a resident's, or a staff member's — their
        role, how many tasks wait, what they can type — with the choice to
        see those tasks (never a "new report" button)."""
        staff = actor.staff
        if staff is None or not self.services.has_chart:
            return self.greeting(actor, name)
        services = self.services
        lang = actor.language
        tasks = await services.tasks(actor)
        overdue = sum(1 for task in tasks if is_late(task, services.now()))
        summary = Admin(services).role_summary(staff.id)
        lines = [
            self.present.t(lang, "start.staff_greeting", name=staff.name),
            self.present.text(lang, summary),
            self._tasks_line(lang, len(tasks), overdue),
            "",
            self._staff_help(actor),
        ]
        return TextOut("text", "\n".join(lines), self._tasks_choice(actor))

    def _tasks_line(self, lang: str, count: int, overdue: int) -> str:
        if not count:
            return self.present.t(lang, "start.staff_no_tasks")
        key = "start.staff_tasks_overdue" if overdue else "start.staff_tasks"
        return self.present.t(lang, key, count=count, overdue=overdue)

    def _tasks_choice(self, actor: Actor) -> Choices:
        label = self.present.t(actor.language, "start.tasks_button")
        return ((CommandChoice(label, "tasks"),),)

    def help_text(self, actor: Actor) -> TextOut:
        """The commands of the person's role, each once, in the order of
        their menu (bot/domain/commands.py)."""
        if actor.staff is None:
            return TextOut("text", self.present.t(actor.language, "help.resident"))
        return TextOut("text", self._staff_help(actor))

    def _staff_help(self, actor: Actor) -> str:
        lang = actor.language
        header = "help.leader_header" if actor.is_leader else "help.staff_header"
        lines = [self.present.t(lang, header)]
        lines += [
            self.present.t(lang, STAFF_HELP[c]) for c in commands_for(actor) if c in STAFF_HELP
        ]
        lines.append(self.present.t(lang, "help.staff_actions"))
        lines.append(self.present.t(lang, "help.morning", time=self.briefing_at.strftime("%H:%M")))
        return "\n".join(lines)

    def fallback(self, actor: Actor) -> TextOut:
        """What to do here: a resident may start a report, staff see their tasks."""
        lang = actor.language
        if actor.staff is not None:
            return TextOut(
                "text", self.present.t(lang, "fallback.staff"), self._tasks_choice(actor)
            )
        choice = CommandChoice(self.present.t(lang, "report.start_button"), NEW_REPORT)
        return TextOut("text", self.present.t(lang, "fallback.help"), ((choice,),))

    # ---- starting and reporting -------------------------------------------------------------

    async def start(self, actor: Actor, name: str, arg: str | None = None) -> Said:
        """``start`` greets; with ``a-<area>`` (a poster's link) it also
        starts a report with that area chosen; ``i-<code>`` opens a staff
        invite; ``new`` (the link a group chat points to) starts a report."""
        if arg is None:
            return Said([await self.welcome(actor, name)])
        if arg.startswith(INVITE_PREFIX):
            return await self.accept_invite(actor, arg[len(INVITE_PREFIX) :])
        if arg == NEW_REPORT:
            said = Said([self.greeting(actor, name)])
            return said.add(*(await self.new_report(actor)).items)
        match = _AREA_LINK.match(arg)
        services = self.services
        if match is None:
            return Said([self.text(actor, "start.unknown_link"), await self.welcome(actor, name)])
        if not services.has_chart or match.group(1) not in services.chart.areas:
            unknown = self.text(actor, "start.unknown_area", code=match.group(1)[:32])
            return Said([unknown, await self.welcome(actor, name)])
        return await self.start_in(actor, name, match.group(1))

    async def start_in(
        self, actor: Actor, name: str, area: str, *, update_id: str | None = None
    ) -> Said:
        """Greet, and start a report in ``area`` (a group chosen in advance:
        whoever scans a poster means to report, staff too).  ``update_id``:
        the typed code that started it, so that handled again after a crash
        it asks the first question again rather than answer it."""
        reply = await self.services.start_report(actor, area, update_id=update_id)
        return Said([self.greeting(actor, name), reply])

    async def new_report(self, actor: Actor) -> Said:
        return self._not_set_up(actor) or Said([await self.services.start_report(actor)])

    async def mine(self, actor: Actor) -> Said:
        """The reports this person sent, then those they follow (issue 17),
        marked as followed, with how to stop following."""
        complaints = await self.services.my_complaints(actor)
        followed = await self.services.followed(actor)
        if not complaints and not followed:
            return self.say(actor, "mine.empty")
        chart = self.services.chart
        lang = actor.language
        lines = []
        if complaints:
            lines.append(self.present.t(lang, "mine.header", count=len(complaints)))
            lines += [self.present.mine_line(lang, chart, c) for c in complaints[:MINE_SHOWN]]
        if followed:
            if lines:
                lines.append("")
            lines.append(self.present.t(lang, "mine.followed_header", count=len(followed)))
            lines += [self.present.mine_line(lang, chart, c) for c in followed[:MINE_SHOWN]]
            lines.append(self.present.t(lang, "mine.unfollow_hint"))
        return Said([TextOut("text", "\n".join(lines))])

    async def unfollow(self, actor: Actor, args: Sequence[str]) -> Said:
        """Stop following a report (issue 17)."""
        if not args:
            return self.say(actor, "follow.usage")
        return Said([await self.services.unfollow(actor, " ".join(args))])

    async def status(self, actor: Actor, args: Sequence[str]) -> Said:
        if not args:
            return self.say(actor, "status.usage")
        return await self.show_status(actor, " ".join(args))

    async def show_status(self, actor: Actor, code_text: str) -> Said:
        """One complaint in detail, with what this person may do about it:
        its reporter reads its status, whoever may handle it its task card
        (photos, place, everything a cadre needs).  Any other code reads
        "not found", whether or not it exists."""
        services = self.services
        complaint = await services.find_own(actor, code_text) if services.has_chart else None
        if complaint is None:
            return self.say(actor, "status.not_found", code=code_text.strip()[:20])
        lang = actor.language
        if services.may_see(actor, complaint):  # whoever may handle it reads its card
            caption = self.present.t(lang, "task.photos_caption", code=complaint.code)
            header = text("task.details_header")
            photos = complaint.photos
            card = await task_card(
                services, self.present, actor, complaint, header, photos, caption
            )
            return Said(list(card))
        body = self.present.status(
            lang, services.chart, complaint, services.handler_label(complaint)
        )
        reporter = await services.reporter_id(complaint.id)
        followers = await services.followers(complaint.id)
        actions = services.available_actions(actor, complaint, reporter, followers)
        choices = action_choices(self.present, lang, complaint.id, actions)
        if actor.person_id in followers:
            body += "\n" + self.present.t(lang, "follow.status_mark", code=complaint.code)
        return Said([TextOut("text", body, choices, about=complaint.id if choices else None)])

    async def withdraw(self, actor: Actor, args: Sequence[str]) -> Said:
        if not args:
            return self.say(actor, "withdraw.usage")
        return Said([await self.services.withdraw(actor, " ".join(args))])

    async def act(self, actor: Actor, action: Action, complaint_id: int) -> Reply:
        """An action on a complaint (a button, a number or words typed for
        it): acknowledging and "fixed" are done at once; the others start
        the conversation they need (a note, a reason, a choice)."""
        services = self.services
        if action is Action.ACKNOWLEDGE:
            return await services.acknowledge(actor, complaint_id)
        if action is Action.CONFIRM:
            return await services.confirm_fixed(actor, complaint_id)
        if action is Action.ANSWER_INFO:
            return await services.begin_info_reply(actor, complaint_id)
        return await services.begin(actor, complaint_id, action)

    async def unanswered(self, actor: Actor, answer: Answer, *, update_id: str | None) -> Said:
        """A message no conversation took: a tracking code shows its
        complaint; while the person's report waits for their answer to the
        owner's question, it is that answer; a photo or a resident's
        sentence out of the blue starts a report (and is kept in it),
        anything else gets the help."""
        if isinstance(answer, TextAnswer) and parse_code(answer.text) is not None:
            return await self.show_status(actor, answer.text)
        services = self.services
        answered = await services.answer_waiting_question(actor, answer, update_id=update_id)
        if answered is not None:
            return Said([answered])
        reply = await services.open_report(actor, answer, update_id=update_id)
        if reply is None:
            return Said([self.fallback(actor)])
        return Said([reply])

    async def edited(
        self, actor: Actor, message_id: int, words: str | None, *, update_id: str | None = None
    ) -> Said:
        """A message edited after it was sent (a channel that has edits):
        its words corrected where the conversation under way still holds
        them as first sent, else the person told that edits are not read
        and what to do instead — never a filed report or a sent note
        changed by surprise.  ``words``: the edited text or caption (None
        for what is never read again, such as a command)."""
        services = self.services
        if words is not None and services.has_chart:
            reply = await services.edited(actor, message_id, words, update_id=update_id)
            if reply is not None:
                return Said([reply])
        if actor.staff is not None:
            return self.say(actor, "fallback.edited_staff")
        under_way = await services.store.load_conversation(actor.person_id)
        if under_way is not None and under_way.kind == "report":
            return self.say(actor, "fallback.edited_ignored")
        return self.say(actor, "fallback.edited_sent")

    # ---- staff ------------------------------------------------------------------------------

    async def tasks(self, actor: Actor) -> Said:
        """The person's tasks, most urgent first, the late ones marked, the
        most urgent with their next action and their details."""
        if not may_use(actor, "tasks"):
            return self.say(actor, "task.not_staff")
        services = self.services
        tasks = by_urgency(await services.tasks(actor))
        if not tasks:
            return self.say(actor, "task.none")
        now = services.now()
        lang = actor.language
        late = sum(1 for task in tasks if is_late(task, now))
        head = self.present.t(lang, "task.header", count=len(tasks), overdue=late)
        shown = tasks[:TASKS_SHOWN]
        listed = [self.present.task_line(lang, services.chart, t, now) for t in tasks]
        more = self.present.t(lang, "task.more", count=len(tasks) - len(shown))
        return Said([task_list(self.present, services, actor, shown, head, more, listed)])

    async def history(self, actor: Actor, args: Sequence[str]) -> Said:
        if not may_use(actor, "history"):
            return self.say(actor, "history.only_staff")
        code_text = " ".join(args)
        if not code_text:
            return self.say(actor, "history.usage")
        services = self.services
        found = await trail_for(services, actor, code_text)
        if found is Refusal.NOT_FOUND:
            return self.say(actor, "status.not_found", code=code_text.strip()[:20])
        if isinstance(found, Refusal):
            return self.say(actor, f"refusal.{found.value}")
        tz = services.schedule.calendar.tz
        return Said([TextOut("text", trail_text(found, services.chart, actor.language, tz))])

    async def lead(self, actor: Actor, action: Action, args: Sequence[str]) -> Said:
        """``reassign CODE`` / ``extend CODE``: a leader's action by command."""
        if not may_use(actor, action.value):
            return self.say(actor, "leader.only_leaders")
        if not args:
            return self.say(actor, f"leader.{action.value}_usage")
        services = self.services
        complaint = await services.find_for_leader(actor, " ".join(args))
        if complaint is None:
            return self.say(actor, "status.not_found", code=" ".join(args)[:20])
        return Said([await services.begin(actor, complaint.id, action)])

    async def whoami(self, actor: Actor) -> Said:
        if actor.staff is None or not self.services.has_chart:
            return self.say(actor, "whoami.resident")
        summary = Admin(self.services).role_summary(actor.staff.id)
        lang = actor.language
        lines = [
            self.present.t(lang, "whoami.staff", name=actor.staff.name),
            self.present.text(lang, summary),
        ]
        return Said([TextOut("text", "\n".join(lines))])

    async def invite(self, actor: Actor, args: Sequence[str], links: ChannelLinks) -> Said:
        """``invite STAFF_ID``: a ward leader gets a one-time code (and the
        channel's link for it) for a member of their own ward; without an
        argument, who has not joined yet."""
        services = self.services
        if actor.staff is None or not may_use(actor, "invite") or not services.has_chart:
            return self.say(actor, "admin.only_ward_leaders")
        admin = Admin(services)
        if not args:
            check = await admin.check()
            mine = [
                s
                for s in (services.chart.staff[i] for i in check.unbound)
                if admin.invitable_by(actor, s)
            ]
            names = ", ".join(f"{s.id} ({s.name})" for s in mine) or "—"
            return self.say(actor, "invite.usage", pending=names)
        try:
            link = await admin.invite_by_leader(actor, args[0].strip(), links)
        except AdminError as exc:
            return self.say(actor, exc.key, **exc.params)
        member = services.chart.staff[link.staff_id]
        return self.say(
            actor,
            "invite.link",
            name=member.name,
            url=link.url,
            code=link.code,
            expires=link.expires_at,
        )

    async def accept_invite(self, actor: Actor, token: str) -> Said:
        """An invite opened (``start i-<code>``)."""
        if not self.services.has_chart:
            return self.say(actor, "fallback.not_set_up")
        return await self._bound(actor, await Admin(self.services).accept_invite(actor, token))

    async def typed_invite(self, actor: Actor, typed: str) -> Said | None:
        """An invite's code typed as a message (the only way on Zalo): the
        same as opening the link.  None when the message is no invite code."""
        reply = await Admin(self.services).bind_by_code(actor, typed)
        return None if reply is None else await self._bound(actor, reply)

    async def _bound(self, actor: Actor, reply: Reply) -> Said:
        """How the invite went; the person speaks as the staff record from
        now on."""
        person = await self.services.store.get_person(actor.person_id)
        now = await self.services.actor_of_person(person) if person is not None else actor
        said = Said([reply], actor=now)
        if now.staff is not None and actor.staff is None:
            said.add(TextOut("text", self._staff_help(now)))  # what they can do from now on
        return said

    # ---- everyone ---------------------------------------------------------------------------

    def help(self, actor: Actor) -> Said:
        return Said([self.help_text(actor)])

    async def cancel(self, actor: Actor) -> Said:
        """Stop what the person is doing, in words of their role."""
        note = await self.services.cancel(actor)
        body = self.present.text(actor.language, note)
        return Said([TextOut("text", body, closes_prompt=True)])

    async def language(self, actor: Actor, args: Sequence[str]) -> Said:
        """``lang en`` switches at once; ``lang`` alone offers each language
        in its own words."""
        if args:
            choice = args[0].strip().lower()
            if choice not in i18n.LANGUAGES:
                return self.say(actor, "lang.unknown")
            return await self.set_language(actor, choice)
        choices = tuple(
            CommandChoice(i18n.t(lang, "lang.name"), "lang", (lang,)) for lang in i18n.LANGUAGES
        )
        return Said([TextOut("text", self.present.t(actor.language, "lang.ask"), (choices,))])

    async def set_language(self, actor: Actor, language: str) -> Said:
        now = await self.services.set_language(actor, language)
        return Said([self.text(now, "lang.set")], actor=now)

    async def mydata(self, actor: Actor) -> Said:
        """Everything stored about the person, as a JSON file."""
        data = await self.services.my_data(actor)

        async def content() -> bytes:
            return data

        # Staff are not "anh/chị" (VOICE.md): theirs is said of the account.
        key = "privacy.mydata_caption_staff" if actor.staff else "privacy.mydata_caption"
        caption = self.present.t(actor.language, key)
        return Said(
            [FileOut("mydata", "phananh-mydata.json", "application/json", caption, content)]
        )

    def forget(self, actor: Actor) -> Said:
        """The warning, with the choice to go ahead; staff are deactivated
        by the ward office, never erased."""
        if not may_use(actor, "forget"):
            return self.say(actor, "privacy.staff_cannot_forget")
        lang = actor.language
        go = CommandChoice(self.present.t(lang, "privacy.forget_button"), "forget", ("yes",))
        return Said([TextOut("text", self.present.t(lang, "privacy.forget_warning"), ((go,),))])

    async def forget_confirmed(self, actor: Actor) -> Said:
        return Said([await self.services.forget(actor)])

    # ---- leaders' reports -------------------------------------------------------------------

    def _split(self, args: Sequence[str]) -> tuple[str | None, str | None, list[str]]:
        """(ward code, ISO week, the rest) from a command's words; ward codes
        match in any case.  A second ward or week goes to the rest, so the
        leader is told the usage rather than shown the last one alone."""
        wards = {w.lower(): w for w in self.digests.wards()}
        ward = week = None
        rest = []
        for arg in args:
            if _WEEK.match(arg) and week is None:
                week = arg
            elif arg.lower() in wards and ward is None:
                ward = wards[arg.lower()]
            else:
                rest.append(arg)
        return ward, week, rest

    def _scope(self, actor: Actor, ward: str | None) -> d.Scope | Said:
        """The scope the person may see, or what to tell them instead."""
        digests = self.digests
        if digests.scope_for(actor) is None:
            return self.say(actor, "digest.only_leaders")
        scope = digests.scope_for(actor, ward)
        return self.say(actor, "digest.not_your_ward") if scope is None else scope

    async def digest(self, actor: Actor, args: Sequence[str]) -> Said:
        """Last week's digest (or the week named), text and chart: the same
        messages as Monday's digest from the outbox."""
        digests = self.digests
        ward, week_text, rest = self._split(args)
        scope = self._scope(actor, ward)
        if isinstance(scope, Said):
            return scope
        if rest and (week_text is not None or _words(rest) not in _LAST_WEEK):
            return self.say(actor, "digest.digest_usage")
        try:
            week = digests.asked_week(week_text) if week_text else digests.last_week()
        except ValueError:
            return self.say(actor, "digest.bad_week")
        except WeekNotBegun as not_yet:
            return self._future(actor, not_yet.week)
        digest = await digests.build(scope, week)
        return Said(list(digest_messages(digests, actor.language, digest)))

    def _future(self, actor: Actor, week: d.Period) -> Said:
        number, year = week_number(week)
        return self.say(actor, "digest.future_week", number=str(number), year=str(year))

    def _period(self, week_text: str | None, rest: list[str]) -> d.Period | None:
        """The period the words name: an ISO week, last week, or this week,
        month or year to date; None when they name none.  A malformed ISO
        week raises ValueError, one to come `WeekNotBegun`."""
        digests = self.digests
        if week_text is not None:
            return None if rest else digests.asked_week(week_text)
        words = _words(rest)
        if words in _LAST_WEEK:
            return digests.last_week()
        kind = _KINDS.get(words)
        return digests.to_date(kind) if kind is not None else None

    def _scope_and_period(
        self, actor: Actor, args: Sequence[str], usage: str
    ) -> tuple[d.Scope, d.Period] | Said:
        """The leader's scope and the period asked for (``week``, ``month``,
        ``year``, ``last week`` or an ISO week like ``2026-W47``, with or
        without a ward code), or what to tell them instead."""
        ward, week_text, rest = self._split(args)
        scope = self._scope(actor, ward)
        if isinstance(scope, Said):
            return scope
        try:
            period = self._period(week_text, rest)
        except ValueError:
            return self.say(actor, "digest.bad_week")
        except WeekNotBegun as not_yet:
            return self._future(actor, not_yet.week)
        return self.say(actor, usage) if period is None else (scope, period)

    async def stats(self, actor: Actor, args: Sequence[str]) -> Said:
        asked = self._scope_and_period(actor, args, "digest.stats_usage")
        if isinstance(asked, Said):
            return asked
        scope, period = asked
        digests = self.digests
        counts, timing = await digests.stats(scope, period)
        body = stats_text(scope, period, counts, timing, digests.chart, actor.language, digests.tz)
        return Said([TextOut("text", body)])

    async def export(self, actor: Actor, args: Sequence[str]) -> Said:
        """The period's complaints as a CSV and an Excel file."""
        from bot.report.export import export_name, rows, to_csv, to_xlsx  # openpyxl when used

        asked = self._scope_and_period(actor, args, "digest.export_usage")
        if isinstance(asked, Said):
            return asked
        scope, period = asked
        digests = self.digests
        lang = actor.language
        table = rows(await digests.export(scope, period), digests.chart, lang, digests.tz)
        name = export_name(scope, period)
        caption = self.present.t(
            lang, "digest.export_caption", period=period_label(period, lang), count=len(table)
        )
        csv = to_csv(table, lang)

        async def csv_bytes() -> bytes:
            return csv

        async def xlsx_bytes() -> bytes:
            return await asyncio.to_thread(to_xlsx, table, lang)

        return Said(
            [
                FileOut("csv", f"{name}.csv", "text/csv", caption, csv_bytes),
                FileOut("xlsx", f"{name}.xlsx", XLSX, "", xlsx_bytes),
            ]
        )

    async def web(self, actor: Actor) -> Said:
        """A one-time link to the dashboard (bot/app/web.py), for a leader;
        where the bot has no public address there is nothing to link to."""
        if not may_use(actor, "web") or actor.staff is None:
            return self.say(actor, "digest.only_leaders")
        web = self.services.web
        if web is None or not web.available or web.leader(actor.staff.id) is None:
            return self.say(actor, "web.unavailable")
        link = await web.link_for(actor.staff.id)
        tz = self.services.schedule.calendar.tz
        until = link.expires_at.astimezone(tz).strftime("%H:%M")
        return self.say(actor, "web.link", url=link.url, until=until)

    # ---- by name ----------------------------------------------------------------------------

    async def command(
        self, actor: Actor, name: str, args: Sequence[str], links: ChannelLinks, *, who: str = ""
    ) -> Said:
        """A command by its name (as Telegram knows it), for a channel where
        commands are typed (Zalo) or chosen from a list; ``who``: the name
        to greet."""
        if name == "start":
            return await self.start(actor, who, args[0] if args else None)
        if name == "new":
            return await self.new_report(actor)
        if name == "forget":
            return await self.forget_confirmed(actor) if args == ("yes",) else self.forget(actor)
        if name == "invite":
            return await self.invite(actor, args, links)
        if name in ("reassign", "extend"):
            return await self.lead(actor, Action(name), args)
        if name == "help":
            return self.help(actor)
        if name == "lang":
            return await self.language(actor, args)
        simple: dict[str, Callable[[Actor], Awaitable[Said]]] = {
            "mine": self.mine,
            "tasks": self.tasks,
            "whoami": self.whoami,
            "cancel": self.cancel,
            "mydata": self.mydata,
            "web": self.web,
        }
        with_args: dict[str, Callable[[Actor, Sequence[str]], Awaitable[Said]]] = {
            "status": self.status,
            "withdraw": self.withdraw,
            "unfollow": self.unfollow,
            "history": self.history,
            "digest": self.digest,
            "stats": self.stats,
            "export": self.export,
        }
        if name in simple:
            return await simple[name](actor)
        if name in with_args:
            return await with_args[name](actor, args)
        return self.help(actor)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _words(rest: Sequence[str]) -> str:
    return fold(" ".join(rest))

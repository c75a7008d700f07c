"""Words for Zalo, which has no buttons, no location pin and no command menu.

Every question and every set of choices becomes a numbered list, and the
person types the number (or the choice's name: the conversation engine
matches names with or without diacritics).  A question's numbers are the
positions of its choices, exactly as the engine counts them (Cancel, always
last, is not numbered: a bare number never cancels; typing "hủy" does).  A
notice's choices (a task card's actions, "fixed / not fixed", a reminder's
"reassign / extend") are numbered in order and remembered for the person
(`menu_item`), so a bare number typed later acts on the right complaint.

A few texts say "press the button" on Telegram; `ZaloPresenter` words them
Zalo's way (`ZALO_WORDS`: the catalogue key Telegram uses -> Zalo's).  The
many that name a /command ("xem tình trạng: /status PA-000123") name what
to type on Zalo instead, in the person's language ("“trạng thái
PA-000123”"): `typed_commands`, applied to every text the renderer makes.
(A slash still works when typed: commands.py.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.app.core import Reply
from bot.app.outgoing import Choice, Choices, TaskChoice
from bot.domain.complaints import Action
from bot.domain.conversation import CANCEL, Prompt
from bot.domain.messages import Text
from bot.report.present import Presenter
from handlers.zalo.commands import PHRASES

# Telegram's words -> Zalo's, where Telegram's speak of buttons or a pin.
ZALO_WORDS: dict[str, str] = {
    "start.greeting": "start.greeting_zalo",
    "help.resident": "help.resident_zalo",
    "help.staff_header": "help.staff_header_zalo",
    "help.leader_header": "help.leader_header_zalo",
    "help.staff_actions": "help.staff_actions_zalo",
    "fallback.help": "fallback.help_zalo",
    "rate.hint": "rate.hint_zalo",
    "group.private_only": "group.private_only_zalo",
    "report.ask_place": "report.ask_place_zalo",
    "report.ask_place_matches": "report.ask_place_matches_zalo",
    "report.place_hint": "report.place_hint_zalo",
    "report.ask_photos": "report.ask_photos_zalo",
    "report.ask_photos_more": "report.ask_photos_more_zalo",
    "report.photos_hint": "report.photos_hint_zalo",
    "report.review": "report.review_zalo",
    "report.review_hint": "report.review_hint_zalo",
    "resolve.ask_photo": "resolve.ask_photo_zalo",
    "resolve.photo_hint": "resolve.photo_hint_zalo",
    "notify.resolved": "notify.resolved_zalo",
    "notify_follower.resolved": "notify_follower.resolved_zalo",
    "notify.info_requested": "notify.info_requested_zalo",
    "notify.confirm_again": "notify.confirm_again_zalo",
    # On Zalo an invite is a code typed, not a link opened.
    "invite.unknown": "invite.unknown_zalo",
    "invite.used": "invite.used_zalo",
    "invite.expired": "invite.expired_zalo",
}

# A /command in a shared text, with what may follow it there: a complaint's
# code (or the template's {code}), a placeholder, a language, a period (in
# either language), an ISO week, a ward's code — up to three of them.
_ARG = (
    r"PA-\d+|\{code\}|MÃ_CÁN_BỘ|MÃ|CODE|STAFF_ID|vi|en|last week|week|month|year"
    r"|tuần trước|tuần|tháng|năm|\d{4}-W\d{1,2}|[A-Z][A-Z0-9_]{3,}"
)
_SLASHED = re.compile(
    rf"(?<![\w/])/(?P<name>[a-z]+)(?P<arg>(?: (?:{_ARG})(?![\w@/-])){{0,3}})(?![\w@/-])"
)
# A period named in English, as Vietnamese types it ("/stats week" is "thống kê tuần").
_VIETNAMESE_PERIODS = {"last week": "tuần trước", "week": "tuần", "month": "tháng", "year": "năm"}
_PERIOD = re.compile(r"\b(last week|week|month|year)\b")


def typed_commands(text: str, language: str) -> str:
    """``text`` with each /command it names replaced by what a Zalo user
    types for it, quoted with what follows it: its first Vietnamese phrase,
    the periods in Vietnamese too, or in English its own name ("/stats week
    HONGHAI" -> "“thống kê tuần HONGHAI”" / "“stats week HONGHAI”")."""

    def typed(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in PHRASES:
            return match[0]
        if language != "vi":
            return f"“{name}{match['arg']}”"
        arg = _PERIOD.sub(lambda period: _VIETNAMESE_PERIODS[period[1]], match["arg"])
        return f"“{PHRASES[name][1][0]}{arg}”"

    return _SLASHED.sub(typed, text)


MenuItem = tuple[str, ...]
TASK = "task"
COMMAND = "command"


class ZaloPresenter(Presenter):
    """The catalogue's words, Zalo's where Telegram's speak of buttons."""

    def text(self, language: str, value: Text | str) -> str:
        if isinstance(value, Text) and value.key in ZALO_WORDS:
            value = Text(ZALO_WORDS[value.key], value.params)
        if isinstance(value, Text) and value.key == "start.greeting_zalo":
            value = Text(value.key, {**value.params, "hello": self._hello(language, value)})
        return super().text(language, value)

    def _hello(self, language: str, greeting: Text) -> str:
        """ "Chào anh/chị Lan.", or "Chào anh/chị." for a person Zalo gives no
        name (a user whose data the law protects, a name left empty): never
        "Chào anh/chị ."."""
        name = str(greeting.params.get("name") or "").strip()
        if not name:
            return self.t(language, "start.hello_unnamed_zalo")
        return self.t(language, "start.hello_zalo", name=name)


def menu_item(choice: Choice) -> MenuItem:
    """A choice as the person's remembered list keeps it (bot/ports.py `Menu`)."""
    if isinstance(choice, TaskChoice):
        return (TASK, choice.action.value, str(choice.complaint_id))
    return (COMMAND, choice.command, *choice.args)


def task_of(item: MenuItem) -> tuple[Action, int] | None:
    """The action and complaint a remembered choice stands for, if it is one."""
    if len(item) == 3 and item[0] == TASK and item[2].isdecimal():
        try:
            return Action(item[1]), int(item[2])
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class Numbered:
    """A text with its choices numbered under it, and what the numbers stand for."""

    body: str
    items: tuple[MenuItem, ...] = ()


class ZaloRenderer:
    def __init__(self, present: ZaloPresenter) -> None:
        self.present = present

    def _line(self, language: str, number: int, label: str) -> str:
        return self.present.t(language, "conv.numbered", number=str(number), label=label)

    def prompt(self, language: str, prompt: Prompt) -> str:
        """The question, then its choices numbered as the engine counts
        them, then how to choose (and, where it can be, how to stop)."""
        lines = [self.present.text(language, prompt.question)]
        numbered = [
            self._line(language, n, self.present.label(language, c.label))
            for n, c in enumerate(prompt.choices, start=1)
            if c.key != CANCEL
        ]
        if numbered:
            lines += ["", *numbered, "", self.present.t(language, "conv.choose_zalo")]
        if prompt.choice(CANCEL) is not None:
            lines.append(self.present.t(language, "conv.cancel_zalo"))
        return "\n".join(lines)

    def reply(self, language: str, reply: Reply) -> str:
        """A service's reply: its notes (a refusal last), then its question."""
        notes: list[Text] = list(reply.notes)
        if reply.refused is not None:
            notes.append(Text(f"refusal.{reply.refused.value}"))
        parts = [self.present.notes(language, notes)] if notes else []
        if reply.prompt is not None:
            parts.append(self.prompt(language, reply.prompt))
        return typed_commands("\n\n".join(parts), language)

    def with_choices(self, language: str, body: str, choices: Choices) -> Numbered:
        """A text and the choices under it, all rows numbered in order."""
        flat: Sequence[Choice] = [c for row in choices for c in row]
        body = typed_commands(body, language)
        if not flat:
            return Numbered(body)
        lines = [body, ""]
        lines += [self._line(language, n, c.label) for n, c in enumerate(flat, start=1)]
        lines += ["", self.present.t(language, "conv.choose_zalo")]
        return Numbered("\n".join(lines), tuple(menu_item(c) for c in flat))

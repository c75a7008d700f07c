"""Telegram's side of the words: keyboards with compact callback data, and
texts measured and split as Telegram measures them.

The words themselves (catalogue texts, dates, cards, lines) are the
channel-neutral `Presenter`'s (bot/report/present.py); `Renderer` adds
what only Telegram has.  Messages are plain text (no parse mode), so
Vietnamese text and whatever a resident typed can never break the
formatting.  The bot (`handlers/telegram/extbot.py`) and the outbox split
what is longer than one message.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.app.notify import action_choices
from bot.app.outgoing import Choice, Choices, TaskChoice
from bot.domain.complaints import Action, parse_code
from bot.domain.conversation import Prompt
from bot.domain.text import split_text
from bot.report.present import Presenter
from handlers.telegram.callbacks import (
    FORGET,
    HELD_REPORT,
    NEW_REPORT,
    TASKS,
    encode_held_report,
    encode_language,
    encode_prompt,
    encode_task,
    encode_view,
)

# Telegram's limits, counted as Telegram counts them: in UTF-16 code units,
# where an emoji (or any character beyond the first 65,536) counts two.
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


def utf16_len(value: str) -> int:
    """The length Telegram checks its limits against (counted by the codec
    in C: every message sent is measured, a character at a time in Python
    cost a tenth of an update's handling)."""
    return len(value.encode("utf-16-le", "surrogatepass")) // 2


def clip(value: str, limit: int) -> str:
    """``value`` shortened with "…" to at most ``limit`` UTF-16 code units."""
    if utf16_len(value) <= limit:
        return value
    kept = units = 0
    for ch in value:
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit - 1:  # room for the "…"
            break
        kept += 1
    return value[:kept] + "…"


def split_message(value: str, limit: int = TEXT_LIMIT) -> list[str]:
    """A text in as many messages as Telegram needs to deliver it whole."""
    return split_text(value, limit, utf16_len)


def callback_data(choice: Choice) -> str:
    """What a button carries: the action and the complaint, or the command
    (a new report, a language, erasing one's data, the tasks, one complaint)."""
    if isinstance(choice, TaskChoice):
        return encode_task(choice.action, choice.complaint_id)
    if choice.command == "lang":
        return encode_language(choice.args[0])
    if choice.command == "forget":
        return FORGET
    if choice.command == "new":
        return NEW_REPORT
    if choice.command == "tasks":
        return TASKS
    if choice.command == HELD_REPORT and choice.args and choice.args[0].isdecimal():
        return encode_held_report(int(choice.args[0]))
    code = parse_code(choice.args[0]) if choice.command == "status" and choice.args else None
    if code is not None:
        return encode_view(code)
    raise ValueError(f"no button for the command {choice.command!r}")


def choices_markup(choices: Choices) -> InlineKeyboardMarkup | None:
    """The channel-neutral choices of a message (bot/app/outgoing.py), row
    by row, as inline buttons whose data names the action and the complaint
    (or the command)."""
    rows = [
        [InlineKeyboardButton(c.label, callback_data=callback_data(c)) for c in row]
        for row in choices
        if row
    ]
    return InlineKeyboardMarkup(rows) if rows else None


class Renderer(Presenter):
    # ---- prompts ----------------------------------------------------------------------------

    def prompt(self, language: str, prompt: Prompt) -> tuple[str, InlineKeyboardMarkup]:
        """The question and its choices as buttons, numbered so that typing
        the number works too (the same numbering a text-only channel shows)."""
        buttons = [
            InlineKeyboardButton(
                clip(
                    self.t(
                        language,
                        "conv.numbered",
                        number=str(i),
                        label=self.label(language, c.label),
                    ),
                    60,
                ),
                callback_data=encode_prompt(prompt.seq, c.key),
            )
            for i, c in enumerate(prompt.choices, start=1)
        ]
        rows = [buttons[i : i + prompt.columns] for i in range(0, len(buttons), prompt.columns)]
        return self.text(language, prompt.question), InlineKeyboardMarkup(rows)

    def location_keyboard(self, language: str) -> ReplyKeyboardMarkup:
        return ReplyKeyboardMarkup(
            [[KeyboardButton(self.t(language, "report.location_button"), request_location=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )

    def new_report_keyboard(self, language: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        self.t(language, "report.start_button"), callback_data=NEW_REPORT
                    )
                ]
            ]
        )

    # ---- complaints -------------------------------------------------------------------------

    def action_keyboard(
        self, language: str, complaint_id: int, actions: Sequence[Action]
    ) -> InlineKeyboardMarkup | None:
        """A complaint's actions as buttons (none: no keyboard)."""
        return choices_markup(action_choices(self, language, complaint_id, actions))

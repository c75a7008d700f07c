"""Turning domain values into Telegram messages: text from the catalogue,
dates in the ward's time zone, keyboards with compact callback data.

Messages are plain text (no parse mode), so Vietnamese text and whatever a
resident typed can never break the formatting.  Texts are built whole; the
bot (`handlers/telegram/extbot.py`) and the outbox split what is longer than
one message, measured as Telegram measures it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot import i18n
from bot.domain.complaints import Action, Complaint, State
from bot.domain.conversation import Prompt
from bot.domain.messages import Label, Text, text
from bot.domain.orgchart import OrgChart
from bot.domain.text import clean_name, inset, split_text
from bot.i18n import format_number  # Vietnamese 17.911, English 17,911
from handlers.telegram.callbacks import NEW_REPORT, encode_prompt, encode_task

# Telegram's limits, counted as Telegram counts them: in UTF-16 code units,
# where an emoji (or any character beyond the first 65,536) counts two.
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

_BUTTON_KEYS = {
    Action.ACKNOWLEDGE: "button.acknowledge",
    Action.RESOLVE: "button.resolve",
    Action.TRANSFER: "button.transfer",
    Action.REJECT: "button.reject",
    Action.CONFIRM: "button.fixed",
    Action.DISPUTE: "button.not_fixed",
    Action.ASK_INFO: "button.ask_info",
    Action.ANSWER_INFO: "button.answer_info",
    Action.REASSIGN: "button.reassign",
    Action.EXTEND: "button.extend",
}


def utf16_len(value: str) -> int:
    """The length Telegram checks its limits against."""
    return len(value) + sum(1 for ch in value if ord(ch) > 0xFFFF)


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


class Renderer:
    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def when(self, instant: datetime) -> str:
        """dd/mm/yyyy HH:MM in the ward's time zone."""
        return instant.astimezone(self.tz).strftime("%d/%m/%Y %H:%M")

    def _param(self, language: str, value: Any) -> Any:
        if isinstance(value, Text):
            return self.text(language, value)
        if isinstance(value, datetime):
            return self.when(value)
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return format_number(value, language)
        return value

    def text(self, language: str, value: Text | str) -> str:
        if isinstance(value, str):
            return value
        params = {k: self._param(language, v) for k, v in value.params.items()}
        return i18n.t(language, value.key, **params)

    def t(self, language: str, key: str, **params: Any) -> str:
        return self.text(language, Text(key, params))

    def label(self, language: str, value: Label) -> str:
        return self.text(language, value)

    def day(self, instant: datetime) -> str:
        return instant.astimezone(self.tz).strftime("%d/%m/%Y")

    def duration(self, language: str, span: timedelta) -> str:
        """ "2 ngày 3 giờ" — how late something is, to the hour."""
        hours = max(0, int(span.total_seconds() // 3600))
        days, hours = divmod(hours, 24)
        if days:
            return self.t(language, "time.days_hours", days=days, hours=hours)
        return self.t(language, "time.hours", hours=hours)

    def notes(self, language: str, notes: Sequence[Text]) -> str:
        return "\n\n".join(self.text(language, n) for n in notes)

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
        if not actions:
            return None
        buttons = [
            InlineKeyboardButton(
                self.t(language, _BUTTON_KEYS[a]), callback_data=encode_task(a, complaint_id)
            )
            for a in actions
        ]
        return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])

    def verdict_keyboard(self, language: str, complaint_id: int) -> InlineKeyboardMarkup:
        """The resident's "Fixed / Not fixed" buttons."""
        markup = self.action_keyboard(language, complaint_id, (Action.CONFIRM, Action.DISPUTE))
        assert markup is not None
        return markup

    def state(self, language: str, state: State) -> str:
        return self.t(language, f"state.{state.value}")

    def complaint_fields(
        self, language: str, chart: OrgChart, complaint: Complaint
    ) -> Mapping[str, Any]:
        category = chart.categories.get(complaint.category)
        area = chart.areas.get(complaint.area)
        ward = chart.areas.get(complaint.ward)
        area_name = area.name if area else complaint.area
        if ward is not None and ward.code != complaint.area:
            area_name = f"{area_name}, {ward.name}"
        return {
            "code": complaint.code,
            "category": category.display_name(language) if category else complaint.category,
            "area": area_name,
            # What residents wrote, as staff read it: cleaned and inset (see
            # bot/domain/text.py), also for rows stored before it was cleaned.
            "landmark": clean_name(complaint.landmark) or "—",
            "description": inset(complaint.description),
            "due": self.when(complaint.due_at),
            "ack_due": self.when(complaint.ack_due_at or complaint.created_at),
            "created": self.when(complaint.created_at),
            "state": self.state(language, complaint.state),
        }

    def task_card(self, language: str, chart: OrgChart, complaint: Complaint, header: Text) -> str:
        fields = dict(self.complaint_fields(language, chart, complaint))
        fields["header"] = self.text(language, header)
        return self.t(language, "task.card", **fields)

    def task_line(self, language: str, chart: OrgChart, complaint: Complaint, now: datetime) -> str:
        fields = dict(self.complaint_fields(language, chart, complaint))
        overdue = self.t(language, "task.overdue_mark") if complaint.due_at < now else ""
        return self.t(language, "task.item", overdue=overdue, **fields)

    def reminder_line(self, language: str, chart: OrgChart, complaint: Complaint, what: str) -> str:
        fields = dict(self.complaint_fields(language, chart, complaint))
        return self.t(language, "reminder.item", what=what, **fields)

    def coded_buttons(
        self, language: str, complaint: Complaint, actions: Sequence[Action]
    ) -> list[InlineKeyboardButton]:
        """Buttons that name their complaint, for messages about several."""
        return [
            InlineKeyboardButton(
                self.t(language, _BUTTON_KEYS[a]) + f" {complaint.code}",
                callback_data=encode_task(a, complaint.id),
            )
            for a in actions
        ]

    def mine_line(self, language: str, chart: OrgChart, complaint: Complaint) -> str:
        return self.t(language, "mine.item", **self.complaint_fields(language, chart, complaint))

    def status(self, language: str, chart: OrgChart, complaint: Complaint, handler: Text) -> str:
        fields = dict(self.complaint_fields(language, chart, complaint))
        lines = [self.t(language, "status.detail", handler=self.text(language, handler), **fields)]
        if complaint.resolution_note:
            lines.append(self.t(language, "status.resolution", note=complaint.resolution_note))
        return "\n".join(lines)

    def refusal(self, language: str, reason: str) -> str:
        return self.t(language, f"refusal.{reason}")


def family_text(family: str) -> Text:
    return text(f"family.{family}")

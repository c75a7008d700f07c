"""Domain values as words a person reads, on any channel: catalogue texts
in the person's language, dates in the ward's time zone, durations, task
cards and list lines, the labels of the actions a person may take.

Nothing here knows a messenger: a channel turns these words into its own
messages (Telegram adds keyboards, handlers/telegram/render.py; a
text-only channel numbers the choices).  Texts are built whole; each
channel splits what is longer than one of its messages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot import i18n
from bot.domain.complaints import Action, Complaint, State
from bot.domain.messages import Label, Lines, Text
from bot.domain.orgchart import OrgChart
from bot.domain.tasks import Deadline, is_late, is_overdue, next_deadline
from bot.domain.text import clean_name, inset
from bot.i18n import format_number  # Vietnamese 17.911, English 17,911

# The catalogue key of each action's label (a button on Telegram, a
# numbered choice elsewhere).
ACTION_KEYS = {
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

# Each deadline as a list line names it: before it ("hạn tiếp nhận …"), and past it.
DEADLINE_KEYS = {
    Deadline.ACKNOWLEDGE: ("task.ack_by", "task.ack_late"),
    Deadline.RESOLVE: ("task.resolve_by", "task.resolve_late"),
}
# A reopened task owes a new acknowledgement, counted from its reopening: it
# is "to be taken back", not "to be acknowledged" as if nobody ever had it.
REACK_KEYS = ("task.reack_by", "task.reack_late")


def deadline_keys(complaint: Complaint, which: Deadline) -> tuple[str, str]:
    """The catalogue keys naming ``which`` deadline of ``complaint``, before
    and past it (a reopened task's acknowledgement says it was reopened)."""
    if which is Deadline.ACKNOWLEDGE and complaint.state is State.REOPENED:
        return REACK_KEYS
    return DEADLINE_KEYS[which]


class Presenter:
    """Words for one ward's time zone; every method takes the reader's language."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def when(self, instant: datetime) -> str:
        """dd/mm/yyyy HH:MM in the ward's time zone."""
        return instant.astimezone(self.tz).strftime("%d/%m/%Y %H:%M")

    def _param(self, language: str, value: Any) -> Any:
        if isinstance(value, Text):
            return self.text(language, value)
        if isinstance(value, Lines):
            return "\n".join(self.text(language, item) for item in value.items)
        if isinstance(value, tuple):  # a list of words: "Vệ sinh môi trường, Trật tự đô thị"
            return ", ".join(str(self._param(language, item)) for item in value)
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

    def action(self, language: str, action: Action) -> str:
        """What a person reads to take ``action`` ("Nhận việc", "Đã xử lý"…)."""
        return self.t(language, ACTION_KEYS[action])

    def day(self, instant: datetime) -> str:
        return instant.astimezone(self.tz).strftime("%d/%m/%Y")

    def duration(self, language: str, span: timedelta) -> str:
        """ "2 ngày 3 giờ" — how late something is, to the hour."""
        hours = max(0, int(span.total_seconds() // 3600))
        days, hours = divmod(hours, 24)
        if days and not hours:  # "2 ngày", never "2 ngày 0 giờ"
            return self.t(language, "time.days", days=days)
        if days:
            return self.t(language, "time.days_hours", days=days, hours=hours)
        return self.t(language, "time.hours", hours=hours)

    def notes(self, language: str, notes: Sequence[Text]) -> str:
        return "\n\n".join(self.text(language, n) for n in notes)

    # ---- complaints -------------------------------------------------------------------------

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

    def task_card(
        self,
        language: str,
        chart: OrgChart,
        complaint: Complaint,
        header: Text,
        *,
        photos: int = 0,
        reporter: str | None = None,
        holder: str | None = None,
        note: str = "",
        followers: int = 0,
        follower_names: tuple[str, ...] = (),
    ) -> str:
        """A task's card: the place with its landmark on one line, how many
        photos came with it, and — where there are — who reported it, why
        it was transferred, who holds it."""
        fields = dict(self.complaint_fields(language, chart, complaint))
        fields["header"] = self.text(language, header)
        landmark = clean_name(complaint.landmark)
        fields["place"] = (
            self.t(language, "task.place_landmark", landmark=landmark, area=fields["area"])
            if landmark
            else self.t(language, "task.place", area=fields["area"])
        )
        fields["photos"] = (
            self.t(language, "task.card_photos", count=photos)
            if photos
            else self.t(language, "task.card_no_photos")
        )
        more = []
        if reporter is not None:
            more.append(self.t(language, "task.reporter", name=reporter))
        if followers:
            # "Số người cùng phản ánh": the reporter and those who follow it.
            more.append(self.t(language, "task.same_reports", count=1 + followers))
        if follower_names:
            more.append(self.t(language, "task.followers_named", names=follower_names))
        if note:
            more.append(self.t(language, "task.transfer_note", note=note))
        if holder is not None:
            more.append(self.t(language, "task.card_holder", name=holder))
        fields["more"] = "".join(f"\n{line}" for line in more)
        return self.t(language, "task.card", **fields)

    def task_line(self, language: str, chart: OrgChart, complaint: Complaint, now: datetime) -> str:
        """One task in a list: marked when late, with the deadline it must
        meet next (the acknowledge one until it is acknowledged)."""
        fields = dict(self.complaint_fields(language, chart, complaint))
        mark = self.t(language, "task.late_mark") if is_late(complaint, now) else ""
        deadline = self.deadline(language, complaint, now)
        return self.t(language, "task.item", mark=mark, deadline=deadline, **fields)

    def deadline(
        self, language: str, complaint: Complaint, now: datetime, which: Deadline | None = None
    ) -> str:
        """ "hạn tiếp nhận 23/11/2026 17:00", or how late it is past it;
        ``which`` deadline, else the one the task must meet next (a resolve
        deadline passed outweighs an acknowledgement still owed)."""
        which = which or next_deadline(complaint)[0]
        if is_overdue(complaint, now):
            which = Deadline.RESOLVE
        when = complaint.ack_due_at if which is Deadline.ACKNOWLEDGE else complaint.due_at
        assert when is not None  # next_deadline names the acknowledgement only when it has one
        keys = deadline_keys(complaint, which)
        reopened = complaint.clock_start or complaint.created_at
        if when < now:
            late = self.duration(language, now - when)
            return self.t(language, keys[1], late=late, due=when, reopened=reopened)
        return self.t(language, keys[0], due=when, reopened=reopened)

    def reminder_line(
        self, language: str, chart: OrgChart, complaint: Complaint, what: str, which: Deadline
    ) -> str:
        """A reminder's line: the deadline it is about, and what is due."""
        fields = dict(self.complaint_fields(language, chart, complaint))
        due = complaint.ack_due_at if which is Deadline.ACKNOWLEDGE else complaint.due_at
        deadline = self.t(
            language,
            deadline_keys(complaint, which)[0],
            due=due or complaint.due_at,
            reopened=complaint.clock_start or complaint.created_at,
        )
        return self.t(language, "reminder.item", what=what, deadline=deadline, **fields)

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

"""A task as its holder weighs it: which deadline comes next, whether it is
overdue, and the order of a list of tasks — the most urgent first.

A task not yet acknowledged is judged by its acknowledge deadline (the next
thing owed is the acknowledgement); an acknowledged one by its resolve
deadline.  Ordered by that deadline, what is overdue comes first, the
longest overdue at the top, then what falls due soonest; an urgent category
goes before another due at the same moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from bot.domain.complaints import Complaint
from bot.domain.reminders import NEEDS_ACK


class Deadline(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


def awaits_acknowledgement(task: Complaint) -> bool:
    return task.state in NEEDS_ACK and task.ack_due_at is not None


def next_deadline(task: Complaint) -> tuple[Deadline, datetime]:
    """The deadline the holder must meet next, and which one it is."""
    if awaits_acknowledgement(task):
        assert task.ack_due_at is not None
        return Deadline.ACKNOWLEDGE, task.ack_due_at
    return Deadline.RESOLVE, task.due_at


def is_overdue(task: Complaint, now: datetime) -> bool:
    """Past its resolve deadline: "quá hạn", as the digest counts it."""
    return task.due_at < now


def is_late(task: Complaint, now: datetime) -> bool:
    """Past the deadline it must meet next (an acknowledgement owed past its
    deadline counts, too)."""
    return next_deadline(task)[1] < now or is_overdue(task, now)


def by_urgency(tasks: Iterable[Complaint]) -> list[Complaint]:
    """The most urgent first: by the deadline each must meet next (so the
    overdue come first, the longest overdue at the top), urgent categories
    before others due at the same moment, then the oldest."""
    return sorted(tasks, key=lambda t: (next_deadline(t)[1], not t.urgent, t.id))

"""When a complaint is due: the acknowledge deadline and the resolve deadline.

Both count working time (Monday–Friday 07:30–17:00 by default, without public
holidays); urgent categories count calendar time.  The per-category knobs come
from the org chart, the ward-wide ones from the config.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from bot.domain.orgchart import Category
from bot.domain.reminders import ReminderPolicy, Schedule


def policy_for(category: Category, knobs: ReminderPolicy) -> ReminderPolicy:
    """The ward-wide knobs, with the category's own clock and escalation."""
    return replace(
        knobs,
        acknowledge_hours=category.acknowledge_hours,
        escalation=category.escalation,
        repeat=category.repeat,
        urgent=category.urgent,
    )


def deadlines(
    schedule: Schedule, start: datetime, category: Category, knobs: ReminderPolicy
) -> tuple[datetime, datetime]:
    """(acknowledge by, resolve by) for a clock starting at ``start``."""
    policy = policy_for(category, knobs)
    return (
        schedule.acknowledge_due(start, policy),
        schedule.resolve_due(start, category.resolve_days, policy),
    )


def is_overdue(due_at: datetime, now: datetime) -> bool:
    return now > due_at

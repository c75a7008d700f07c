"""When a complaint is due.

For now the resolve deadline is the category's resolve time in calendar days
from routing; working hours and holidays replace this in a later step.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain.orgchart import Category


def resolve_due(routed_at: datetime, category: Category) -> datetime:
    return routed_at + timedelta(days=category.resolve_days)


def is_overdue(due_at: datetime, now: datetime) -> bool:
    return now > due_at

"""Each role's commands, in the order a person of that role reaches for them.

A resident's menu starts with reporting; a cadre's with their tasks; a
leader's with their tasks and the ward's figures.  What a person may not use
is never offered (the permission table, `bot.domain.authz.may_use`): a
cadre's menu has no ``/digest``, a staff member's no ``/forget`` (staff are
deactivated by the ward office, not erased).  Telegram's command menus, the
/help and the staff greeting all follow this one order, so a command is
listed once and where the role expects it.
"""

from __future__ import annotations

from bot.domain.authz import Actor, may_use

# A resident's menu: reporting first, then following up, then the rest.
RESIDENT_ORDER: tuple[str, ...] = (
    "start",
    "new",
    "mine",
    "status",
    "withdraw",
    "unfollow",
    "cancel",
    "lang",
    "whoami",
    "mydata",
    "forget",
    "help",
)

# A staff member's: the work first (tasks, then a leader's reports and
# decisions), then a single task in detail, then what they share with
# residents (they may report a problem too).
STAFF_ORDER: tuple[str, ...] = (
    "tasks",
    "digest",
    "stats",
    "export",
    "web",
    "reassign",
    "extend",
    "invite",
    "status",
    "history",
    "cancel",
    "new",
    "mine",
    "withdraw",
    "unfollow",
    "lang",
    "whoami",
    "mydata",
    "help",
)

# Every command the bot has, once.
ALL_COMMANDS: tuple[str, ...] = tuple(dict.fromkeys((*RESIDENT_ORDER, *STAFF_ORDER)))


def commands_for(actor: Actor) -> tuple[str, ...]:
    """The commands this person may use, in their role's order."""
    order = STAFF_ORDER if actor.staff is not None else RESIDENT_ORDER
    return tuple(c for c in order if may_use(actor, c))

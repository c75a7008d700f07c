"""Use cases: everything a resident, cadre or leader can do, channel-neutral.

Each method takes plain values (an `Actor`, an id, an answer) and returns a
`Reply` the channel renders.  Decisions come from the domain (routing,
transitions, authorization); persistence goes through the `Store` port; every
message sent on the bot's own initiative is a `Notice` written in the same
transaction as the change that causes it.

`Services` is the top of a stack of small floors, one module each (see
bot/app/core.py); this module adds the one table that says which use case
completes which conversation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.app.conversations import Finisher
from bot.app.core import (
    REFRESH_BUTTONS,
    STAFF_UNREACHABLE,
    TASK_ASSIGNED,
    TASK_REOPENED,
    TO_OWNER,
    TO_RESIDENT,
    WARD_TRANSFER,
    NoOrgChart,
    Reply,
    default_schedule,
)
from bot.app.delivery import Delivery
from bot.domain.authz import Actor

__all__ = [
    "FINISHERS",
    "REFRESH_BUTTONS",
    "STAFF_UNREACHABLE",
    "TASK_ASSIGNED",
    "TASK_REOPENED",
    "TO_OWNER",
    "TO_RESIDENT",
    "WARD_TRANSFER",
    "NoOrgChart",
    "Reply",
    "Services",
    "default_schedule",
]


class Services(Delivery):
    def finisher(self, kind: str) -> Finisher:
        use_case = FINISHERS[kind]

        async def finish(actor: Actor, result: dict[str, Any]) -> Reply:
            return await use_case(self, actor, result)

        return finish


# Each conversation kind (bot/domain/flows/) and the use case its result goes to.
FINISHERS: dict[str, Callable[[Services, Actor, dict[str, Any]], Awaitable[Reply]]] = {
    "report": Services._file,
    "resolve": Services._resolve,
    "transfer": Services._transfer,
    "reject": Services._reject,
    "dispute": Services._dispute,
    "rate": Services._rate,
    "ask_info": Services._ask_info,
    "ack_reply": Services._ack_reply,
    "info_reply": Services._info_reply,
    "reassign": Services._reassign,
    "extend": Services._extend,
    "withdraw": Services._withdraw,
}

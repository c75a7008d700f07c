"""The conversations the bot holds, as flows for the engine
(bot/domain/conversation.py), one module per who holds them:

* ``report.py`` — ``report``: a resident files a complaint: the problem (from
  their words, or family then category), the leadership question for an
  official's conduct, the place, the description, photos, the review.
* ``staff.py`` — the person handling a task: ``resolve`` (the note of the
  fix, then a photo, skippable), ``ack_reply`` (a reply template after
  acknowledging), ``ask_info`` (a question to the resident), ``extend``.
* ``handover.py`` — ``transfer`` (another group, category or ward, or only a
  reason: the ward leader then reassigns), ``reject`` (duplicate / not the
  ward's remit / abusive, with a reason), ``reassign``.
* ``resident.py`` — after filing: ``dispute`` ("not fixed", and why),
  ``rate`` (1 to 5), ``info_reply``, ``withdraw`` (confirmed first).
* ``steps.py`` — what they share: the environment (`FlowEnv`), the text and
  photo steps, paging, choices; ``places.py`` — finding a typed place;
  ``intake.py`` — whether a free text reads like a report.

Each flow's ``data`` is JSON-serialisable so the caller can store it.  Adding
a flow: a class in the module of who holds it, and a line in ``ALL_FLOWS``.
"""

from __future__ import annotations

from bot.domain.flows.handover import ReassignFlow, RejectFlow, TransferFlow
from bot.domain.flows.intake import names_a_problem, reads_like_a_report
from bot.domain.flows.places import match_areas
from bot.domain.flows.report import ReportFlow
from bot.domain.flows.resident import (
    DisputeFlow,
    InfoReplyFlow,
    RateFlow,
    WithdrawFlow,
    typed_stars,
)
from bot.domain.flows.staff import AckReplyFlow, AskInfoFlow, ExtendFlow, ResolveFlow
from bot.domain.flows.steps import OPTIONAL_LIFETIMES, FlowEnv

ALL_FLOWS = (
    ReportFlow(),
    AckReplyFlow(),
    ResolveFlow(),
    TransferFlow(),
    RejectFlow(),
    DisputeFlow(),
    RateFlow(),
    AskInfoFlow(),
    InfoReplyFlow(),
    ReassignFlow(),
    ExtendFlow(),
    WithdrawFlow(),
)

__all__ = [
    "ALL_FLOWS",
    "OPTIONAL_LIFETIMES",
    "FlowEnv",
    "ReportFlow",
    "TransferFlow",
    "match_areas",
    "names_a_problem",
    "reads_like_a_report",
    "typed_stars",
]

"""The authorization table, tested exhaustively: every kind of person ×
every action and command, in the domain and through the real buttons."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime

import pytest

from bot.domain.authz import Actor, Refusal, View, authorize, may_read, may_use
from bot.domain.complaints import Action, Complaint, State
from bot.domain.orgchart import Family, OrgChart
from bot.driver import BotDriver
from handlers.callbacks import TASK_CODES
from tests.factories import file_sanitation_report

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
REPORTER = 20

# The people, as the example org chart knows them.
PEOPLE = {
    "reporter": (REPORTER, None),
    "owner": (1, "cb-hh-mt"),
    "other_cadre": (2, "cb-hh-dc1"),  # same ward, another area's cadre
    "ward_leader": (3, "ld-hh-ct"),
    "other_ward_leader": (4, "ld-bd-ct"),
    "city_leader": (5, "ld-tp-ct"),
    "stranger": (6, None),
}

# The specification, written out independently of the table in bot/domain/authz.py.
HANDLING = {"owner", "ward_leader", "city_leader"}
EXPECTED: dict[Action, set[str]] = {
    Action.ACKNOWLEDGE: HANDLING,
    Action.TRANSFER: HANDLING,
    Action.REJECT: HANDLING,
    Action.RESOLVE: HANDLING,
    Action.ASK_INFO: HANDLING,
    Action.REPLY: HANDLING,
    Action.REASSIGN: {"ward_leader", "city_leader"},
    Action.EXTEND: {"ward_leader", "city_leader"},
    Action.CONFIRM: {"reporter"},
    Action.DISPUTE: {"reporter"},
    Action.WITHDRAW: {"reporter"},
    Action.RATE: {"reporter"},
    Action.ANSWER_INFO: {"reporter"},
    Action.RESUME: set(),  # the sweep only
    Action.AUTO_CLOSE: set(),
}
# A state in which each action is possible at all.
STATE_FOR = {
    Action.ACKNOWLEDGE: State.SUBMITTED,
    Action.WITHDRAW: State.SUBMITTED,
    Action.CONFIRM: State.RESOLVED,
    Action.DISPUTE: State.RESOLVED,
    Action.AUTO_CLOSE: State.RESOLVED,
    Action.RATE: State.CONFIRMED,
}


def actor(chart: OrgChart, who: str) -> Actor:
    person, staff = PEOPLE[who]
    return Actor(person, staff=chart.staff[staff] if staff else None)


def complaint(state: State, **extra: object) -> Complaint:
    values: dict[str, object] = {
        "id": 1,
        "category": "RKTG",
        "family": Family.SANITATION,
        "area": "HH-TDP03",
        "ward": "HONGHAI",
        "state": state,
        "owner": "cb-hh-mt",
        "description": "rác",
        "created_at": T0,
        "due_at": T0,
    }
    values.update(extra)
    return Complaint(**values)  # type: ignore[arg-type]


def test_the_specification_covers_every_action_but_filing() -> None:
    assert set(EXPECTED) == set(Action) - {Action.FILE}


@pytest.mark.parametrize(
    ("action", "who"), list(itertools.product(sorted(EXPECTED), sorted(PEOPLE)))
)
def test_every_person_times_every_action(chart: OrgChart, action: Action, who: str) -> None:
    task = complaint(STATE_FOR.get(action, State.ACKNOWLEDGED))
    result = authorize(actor(chart, who), action, task, REPORTER)
    if who in EXPECTED[action]:
        assert result is None
    elif who == "stranger":
        assert result is Refusal.NOT_FOUND, "a guessed code reveals nothing"
    else:
        assert result is Refusal.NOT_ALLOWED


@pytest.mark.parametrize("action", sorted(a for a, who in EXPECTED.items() if who))
def test_allowed_people_are_refused_in_the_wrong_state(chart: OrgChart, action: Action) -> None:
    closed = complaint(State.WITHDRAWN)
    for who in EXPECTED[action]:
        assert authorize(actor(chart, who), action, closed, REPORTER) is Refusal.WRONG_STATE


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_about_the_ward_leadership_only_the_city_decides(chart: OrgChart, action: Action) -> None:
    about_leaders = complaint(
        STATE_FOR.get(action, State.ACKNOWLEDGED),
        family=Family.OFFICIAL_CONDUCT,
        category="NNCB",
        owner="ld-tp-bt",
        concerns_leadership=True,
    )
    for who in ("ward_leader", "owner", "other_cadre"):
        assert authorize(actor(chart, who), action, about_leaders, REPORTER) is not None, who
    if "city_leader" in EXPECTED[action]:
        assert authorize(actor(chart, "city_leader"), action, about_leaders, REPORTER) is None


# Who may read what, written out apart from READS: the history is for the
# owner and the leaders who may see the complaint.
READ_EXPECTED: dict[View, set[str]] = {View.HISTORY: HANDLING}


def test_the_read_specification_covers_every_view() -> None:
    assert set(READ_EXPECTED) == set(View)


@pytest.mark.parametrize(("view", "who"), list(itertools.product(sorted(View), sorted(PEOPLE))))
@pytest.mark.parametrize("state", sorted(State))
def test_every_person_times_every_view_in_every_state(
    chart: OrgChart, view: View, who: str, state: State
) -> None:
    result = may_read(actor(chart, who), view, complaint(state), REPORTER)
    if who in READ_EXPECTED[view]:
        assert result is None, "reading does not depend on the state"
    elif who == "stranger":
        assert result is Refusal.NOT_FOUND
    else:
        assert result is Refusal.NOT_ALLOWED


@pytest.mark.parametrize("view", sorted(View))
def test_about_the_ward_leadership_only_the_city_reads(chart: OrgChart, view: View) -> None:
    about_leaders = complaint(
        State.ACKNOWLEDGED,
        family=Family.OFFICIAL_CONDUCT,
        category="NNCB",
        owner="ld-tp-bt",
        concerns_leadership=True,
    )
    for who in ("ward_leader", "owner", "other_cadre", "reporter"):
        assert may_read(actor(chart, who), view, about_leaders, REPORTER) is not None, who
    assert may_read(actor(chart, "city_leader"), view, about_leaders, REPORTER) is None


def test_a_deactivated_owner_is_a_resident_again(chart: OrgChart) -> None:
    gone = dataclasses.replace(chart.staff["cb-hh-mt"], active=False)
    task = complaint(State.SUBMITTED)
    assert authorize(Actor(1, staff=gone), Action.ACKNOWLEDGE, task, REPORTER) is not None


EVERYONE_COMMANDS = (
    "start",
    "new",
    "mine",
    "status",
    "withdraw",
    "cancel",
    "lang",
    "whoami",
    "help",
)
COMMAND_EXPECTED = {
    "tasks": {"owner", "other_cadre", "ward_leader", "other_ward_leader", "city_leader"},
    "reassign": {"ward_leader", "other_ward_leader", "city_leader"},
    "extend": {"ward_leader", "other_ward_leader", "city_leader"},
    "invite": {"ward_leader", "other_ward_leader"},
    "digest": {"ward_leader", "other_ward_leader", "city_leader"},
    "stats": {"ward_leader", "other_ward_leader", "city_leader"},
    "export": {"ward_leader", "other_ward_leader", "city_leader"},
    "history": {"owner", "other_cadre", "ward_leader", "other_ward_leader", "city_leader"},
}


@pytest.mark.parametrize(
    ("command", "who"),
    list(
        itertools.product(
            [*EVERYONE_COMMANDS, *sorted(COMMAND_EXPECTED)],
            sorted(PEOPLE),
        )
    ),
)
def test_every_person_times_every_command(chart: OrgChart, command: str, who: str) -> None:
    expected = COMMAND_EXPECTED.get(command, set(PEOPLE))
    assert may_use(actor(chart, who), command) is (who in expected)


# ---- through the real buttons ---------------------------------------------------------------

TELEGRAM_IDS = {
    "reporter": 501,
    "owner": 7013,
    "other_cadre": 7011,
    "ward_leader": 7001,
    "other_ward_leader": 7051,
    "city_leader": 7092,
    "stranger": 502,
}


@pytest.mark.parametrize("who", sorted(TELEGRAM_IDS))
@pytest.mark.parametrize("action", sorted(TASK_CODES))
async def test_every_button_pressed_by_every_person(
    bot: BotDriver, action: Action, who: str
) -> None:
    """A press by someone the table refuses changes nothing and gets a
    polite alert; a press by someone it allows is taken."""
    await file_sanitation_report(bot, bot.user(501, "An"))
    presser = bot.user(TELEGRAM_IDS[who], who)
    before = await bot.services.complaint(1)
    assert before is not None
    await bot.send(presser.press_raw(f"{TASK_CODES[action]}:1", 1))
    after = await bot.services.complaint(1)
    assert after is not None
    answer = list(bot.api.callback_answers.values())[-1]
    allowed = who in EXPECTED[action] and action not in (
        Action.CONFIRM,
        Action.DISPUTE,
        Action.ANSWER_INFO,  # not possible on a submitted complaint
    )
    if allowed:
        assert answer.get("show_alert") is not True
    else:
        assert answer.get("show_alert") is True, "a polite refusal"
        assert after.version == before.version, "and nothing changed"

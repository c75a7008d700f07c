"""The authorization table, tested exhaustively: every kind of person ×
every action and command, in the domain and through the real buttons."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime

import pytest

from bot.domain.authz import (
    COMMAND_ROLES,
    RESIDENTS_ONLY,
    Actor,
    Refusal,
    View,
    authorize,
    may_read,
    may_use,
)
from bot.domain.commands import ALL_COMMANDS, STAFF_ORDER, commands_for
from bot.domain.complaints import Action, Complaint, State
from bot.domain.flows import FlowEnv, TransferFlow
from bot.domain.orgchart import Family, OrgChart, Role
from bot.domain.owners import candidates, may_own
from bot.domain.routing import Reach, route
from bot.sandbox.driver import BotDriver
from handlers.telegram.callbacks import TASK_CODES
from tests.factories import file_sanitation_report
from tests.test_owners import file_conduct

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
    # A follower's own (none of these people follows; see test_following.py).
    Action.FOLLOWER_CONFIRM: set(),
    Action.CONFIRM_BY_FOLLOWER: set(),  # the sweep only
}
# A state in which each action is possible at all.
STATE_FOR = {
    Action.ACKNOWLEDGE: State.SUBMITTED,
    Action.WITHDRAW: State.SUBMITTED,
    Action.CONFIRM: State.RESOLVED,
    Action.DISPUTE: State.RESOLVED,
    Action.AUTO_CLOSE: State.RESOLVED,
    Action.FOLLOWER_CONFIRM: State.RESOLVED,
    Action.CONFIRM_BY_FOLLOWER: State.RESOLVED,
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
    "mydata",
    "help",
)
COMMAND_EXPECTED = {
    # Staff are deactivated by the ward office, never erased.
    "forget": {"reporter", "stranger"},
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
    # Each person's menu offers what they may use, once each (staff reach
    # their greeting by /help; /start stays the residents' first step).
    person = actor(chart, who)
    menu = commands_for(person)
    offered = who in expected and not (person.staff is not None and command == "start")
    assert (command in menu) is offered
    assert len(menu) == len(set(menu))


def test_every_command_is_in_some_menu() -> None:
    assert set(COMMAND_ROLES) == set(ALL_COMMANDS)
    assert set(STAFF_ORDER) == set(ALL_COMMANDS) - RESIDENTS_ONLY - {"start"}


@pytest.mark.parametrize("who", sorted(PEOPLE))
def test_a_menu_puts_the_roles_work_first(chart: OrgChart, who: str) -> None:
    menu = commands_for(actor(chart, who))
    first = {
        "reporter": "start",
        "stranger": "start",
        "owner": "tasks",
        "other_cadre": "tasks",
        "ward_leader": "tasks",
        "other_ward_leader": "tasks",
        "city_leader": "tasks",
    }
    assert menu[0] == first[who]
    if who.endswith("leader"):
        assert menu[1:4] == ("digest", "stats", "export"), "then the figures a leader reads"


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


# ---- complaints about an official: every action × every role --------------------------------

# The people around a complaint about Hồng Hải's ward police officer.
CONDUCT_PEOPLE = {
    "reporter": (REPORTER, None),
    "conduct_leader": (11, "ld-hh-bt"),  # the ward's party secretary, its conduct leader
    "ward_chair": (3, "ld-hh-ct"),
    "officer_concerned": (12, "cb-hh-ca"),  # the police officer it is about
    "other_cadre": (2, "cb-hh-dc1"),
    "other_ward_leader": (4, "ld-bd-ct"),
    "city_leader": (5, "ld-tp-ct"),
    "stranger": (6, None),
}
WARD_LEADERS = {"conduct_leader", "ward_chair"}
# (owner, concerns the ward's leadership) of each case.
CONDUCT_CASES = {
    "about_an_official": ("ld-hh-bt", False),
    "about_the_ward_leadership": ("ld-tp-bt", True),
    "held_by_a_cadre": ("cb-hh-ca", False),  # old data: the cadre is not its owner
}


def conduct_expected(case: str, action: Action) -> set[str]:
    """Written out from the issue, independently of the table: leaders only,
    never a leader the complaint concerns; the reporter as ever."""
    if action in (Action.CONFIRM, Action.DISPUTE, Action.WITHDRAW, Action.RATE):
        return {"reporter"}
    if action is Action.ANSWER_INFO:
        return {"reporter"}
    if action in (
        Action.RESUME,
        Action.AUTO_CLOSE,
        Action.FOLLOWER_CONFIRM,  # none of these people follows
        Action.CONFIRM_BY_FOLLOWER,
    ):
        return set()
    leaders = {"city_leader"} | (set() if case == "about_the_ward_leadership" else WARD_LEADERS)
    return leaders


def conduct_actor(chart: OrgChart, who: str) -> Actor:
    person, staff = CONDUCT_PEOPLE[who]
    return Actor(person, staff=chart.staff[staff] if staff else None)


@pytest.mark.parametrize(
    ("case", "action", "who"),
    list(itertools.product(sorted(CONDUCT_CASES), sorted(EXPECTED), sorted(CONDUCT_PEOPLE))),
)
def test_every_role_times_every_action_on_a_complaint_about_an_official(
    chart: OrgChart, case: str, action: Action, who: str
) -> None:
    owner, leadership = CONDUCT_CASES[case]
    task = complaint(
        STATE_FOR.get(action, State.ACKNOWLEDGED),
        family=Family.OFFICIAL_CONDUCT,
        category="NNCB",
        area="HH-TDP05",
        owner=owner,
        concerns_leadership=leadership,
    )
    result = authorize(conduct_actor(chart, who), action, task, REPORTER)
    if who in conduct_expected(case, action):
        assert result is None
    elif who == "stranger" or (leadership and who in WARD_LEADERS):
        assert result is Refusal.NOT_FOUND, "a leader it concerns learns nothing"
    else:
        assert result is Refusal.NOT_ALLOWED


# Every place in the example chart, every official-conduct category, both
# answers to "does it concern the ward's leadership?", and who can be reached.
REACHABLE = {
    "everyone": Reach.assumed(),
    "conduct_leader_blocked": frozenset({"ld-hh-bt"}),
    "ward_leaders_blocked": frozenset({"ld-hh-bt", "ld-hh-ct", "ld-bd-ct"}),
    "a_city_leader_blocked": frozenset({"ld-tp-bt"}),
    "everyone_blocked": None,
}


def reach_of(chart: OrgChart, name: str) -> Reach:
    found = REACHABLE[name]
    if isinstance(found, Reach):
        return found
    bound = frozenset(chart.staff)
    return Reach(bound=bound, refused=bound if found is None else found)


@pytest.mark.parametrize("reachable", sorted(REACHABLE))
@pytest.mark.parametrize("leadership", [False, True])
def test_routing_and_every_category_change_keep_it_among_the_eligible_leaders(
    chart: OrgChart, reachable: str, leadership: bool
) -> None:
    """Filing, and the automatic routing a transfer to another category or
    group would trigger: never a cadre, never a leader it concerns."""
    reach = reach_of(chart, reachable)
    conduct = [c for c in chart.categories.values() if c.family is Family.OFFICIAL_CONDUCT]
    checked = 0
    for group in chart.groups():
        ward = chart.ward_of(group.code)
        assert ward is not None
        for category in conduct:
            routed = route(
                chart, group.code, category.code, concerns_leadership=leadership, reach=reach
            )
            owner = chart.staff[routed.owner]
            assert not owner.has_role(Role.CADRE) or owner.has_role(Role.WARD_LEADER)
            if leadership:
                assert owner.has_role(Role.CITY_LEADER), (group.code, routed)
                assert not (owner.has_role(Role.WARD_LEADER) and ward in owner.wards)
            else:
                assert owner.has_role(Role.CITY_LEADER) or ward in owner.wards
            task = complaint(
                State.ACKNOWLEDGED,
                family=Family.OFFICIAL_CONDUCT,
                category=category.code,
                area=group.code,
                ward=ward,
                owner=routed.owner,
                concerns_leadership=leadership,
            )
            assert may_own(chart, task, routed.owner)
            # What a transfer may offer: the other conduct categories only.
            env = FlowEnv(chart, "vi")
            flow = TransferFlow()
            offered = flow.prompt(env, "category", {"code": "PA", "category": category.code}, 1)
            for choice in offered.choices:
                if choice.key in chart.categories:
                    assert chart.categories[choice.key].family is Family.OFFICIAL_CONDUCT
            checked += 1
    assert checked == len(chart.groups()) * len(conduct)


def test_reassign_offers_only_the_leaders_who_may_own_it(chart: OrgChart) -> None:
    about_officer = complaint(
        State.ACKNOWLEDGED, family=Family.OFFICIAL_CONDUCT, category="NNCB", owner="ld-hh-bt"
    )
    offered = candidates(chart, Reach.assumed(), about_officer, excluding=("ld-hh-ct",))
    assert offered == ["ld-tp-bt", "ld-tp-ct"], "not the chair asking, no cadre"
    about_leaders = dataclasses.replace(about_officer, owner="ld-tp-bt", concerns_leadership=True)
    offered = candidates(chart, Reach.assumed(), about_leaders, excluding=("ld-tp-bt",))
    assert offered == ["ld-tp-ct"], "the city only"


CONDUCT_TELEGRAM = {
    "reporter": 501,
    "conduct_leader": 7002,
    "ward_chair": 7001,
    "officer_concerned": 7014,
    "other_cadre": 7011,
    "other_ward_leader": 7051,
    "city_leader": 7092,
    "stranger": 502,
}


@pytest.mark.parametrize("who", sorted(CONDUCT_TELEGRAM))
@pytest.mark.parametrize("action", sorted(TASK_CODES))
async def test_every_button_on_a_complaint_about_the_ward_leadership(
    bot: BotDriver, action: Action, who: str
) -> None:
    """Through the real buttons: only the city's leaders may act; the ward's
    own leaders, who it concerns, are told nothing exists."""
    await file_conduct(bot, bot.user(501, "An"), about_leaders=True)
    presser = bot.user(CONDUCT_TELEGRAM[who], who)
    before = await bot.services.complaint(1)
    assert before is not None
    await bot.send(presser.press_raw(f"{TASK_CODES[action]}:1", 1))
    after = await bot.services.complaint(1)
    assert after is not None
    answer = list(bot.api.callback_answers.values())[-1]
    allowed = who in conduct_expected("about_the_ward_leadership", action) and action not in (
        Action.CONFIRM,
        Action.DISPUTE,
        Action.ANSWER_INFO,
    )
    if allowed:
        assert answer.get("show_alert") is not True
    else:
        assert answer.get("show_alert") is True, "a polite refusal"
        assert after.version == before.version, "and nothing changed"
        if who in WARD_LEADERS:
            assert "Không tìm thấy" in str(answer.get("text")), "nothing to see"

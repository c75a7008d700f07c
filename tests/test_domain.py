"""Pure domain rules: states, codes, routing, authorization, text matching, geometry."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.authz import PERMISSIONS, Actor, Refusal, Relation, authorize, can_handle
from bot.domain.complaints import (
    OPEN_STATES,
    STATE_GROUPS,
    TRANSITIONS,
    Action,
    Complaint,
    Event,
    State,
    StateGroup,
    format_code,
    next_state,
    parse_code,
    replay,
)
from bot.domain.geo import contains, distance_km, locate
from bot.domain.orgchart import AreaKind, Family, GeoPoint, OrgChart, Role
from bot.domain.routing import RouteReason, route
from bot.domain.text import Option, fold, match_typed

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def complaint(**overrides: object) -> Complaint:
    values: dict[str, object] = {
        "id": 1,
        "category": "RTPT",
        "family": Family.SANITATION,
        "area": "HH-TDP01",
        "ward": "HONGHAI",
        "state": State.SUBMITTED,
        "owner": "cb-hh-mt",
        "description": "rác",
        "created_at": T0,
        "due_at": T0,
    }
    values.update(overrides)
    return Complaint(**values)  # type: ignore[arg-type]


# ---- states --------------------------------------------------------------------------------


def test_every_state_has_a_group_and_each_group_has_states() -> None:
    assert set(STATE_GROUPS) == set(State)
    assert {g for g in STATE_GROUPS.values()} == set(StateGroup)


@pytest.mark.parametrize(("state", "action"), list(itertools.product(State, Action)))
def test_transition_table_is_the_only_authority(state: State, action: Action) -> None:
    expected = TRANSITIONS.get((state, action))
    assert next_state(state, action) == expected
    if state.group is StateGroup.CLOSED and action is not Action.RATE:
        assert expected is None, "closed complaints never move again"


def test_filing_is_the_only_way_in() -> None:
    assert next_state(None, Action.FILE) is State.SUBMITTED
    assert all(next_state(None, a) is None for a in Action if a is not Action.FILE)


def test_resolution_needs_the_resident_to_close() -> None:
    assert next_state(State.RESOLVED, Action.CONFIRM) is State.CONFIRMED
    assert next_state(State.RESOLVED, Action.DISPUTE) is State.REOPENED
    assert next_state(State.RESOLVED, Action.ACKNOWLEDGE) is None
    assert next_state(State.RESOLVED, Action.WITHDRAW) is None


def test_replay_rebuilds_state_and_refuses_impossible_histories() -> None:
    steps = [
        (None, Action.FILE, State.SUBMITTED),
        (State.SUBMITTED, Action.ACKNOWLEDGE, State.ACKNOWLEDGED),
        (State.ACKNOWLEDGED, Action.RESOLVE, State.RESOLVED),
        (State.RESOLVED, Action.DISPUTE, State.REOPENED),
        (State.REOPENED, Action.RESOLVE, State.RESOLVED),
        (State.RESOLVED, Action.CONFIRM, State.CONFIRMED),
    ]
    events = [Event(1, T0, a, f, t) for f, a, t in steps]
    assert replay(events) is State.CONFIRMED
    with pytest.raises(ValueError, match="history breaks"):
        replay([*events, Event(1, T0, Action.ACKNOWLEDGE, State.CONFIRMED, State.ACKNOWLEDGED)])


def test_open_states_are_the_open_group() -> None:
    assert {s for s in State if s.group is StateGroup.OPEN} == OPEN_STATES


# ---- codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("PA-000123", 123),
        ("pa-000123", 123),
        ("PA000123", 123),
        ("  pa 000123 ", 123),
        ("PA-1234567", 1234567),
        ("PA-000000", None),
        ("PB-000123", None),
        ("000123", None),
        ("PA-", None),
        ("", None),
    ],
)
def test_parse_code(typed: str, expected: int | None) -> None:
    assert parse_code(typed) == expected


@given(st.integers(min_value=1, max_value=10**11))
def test_code_round_trip(n: int) -> None:
    code = format_code(n)
    assert code.startswith("PA-")
    assert len(code) >= 9
    assert parse_code(code) == n
    assert parse_code(code.lower().replace("-", "")) == n


# ---- routing -------------------------------------------------------------------------------


def test_every_group_and_category_has_exactly_one_owner(chart: OrgChart) -> None:
    """Rõ người: for every place a complaint can land and every category,
    routing names one existing staff member who serves that ward or leads."""
    for group, category in itertools.product(chart.groups(), chart.categories.values()):
        for leadership in (False, True):
            result = route(chart, group.code, category.code, concerns_leadership=leadership)
            owner = chart.staff[result.owner]
            assert result.ward == chart.ward_of(group.code)
            if category.family is Family.OFFICIAL_CONDUCT:
                assert owner.roles != {Role.CADRE}, "conduct never goes to a cadre"
                if leadership:
                    assert owner.has_role(Role.CITY_LEADER)
                else:
                    assert result.owner == chart.wards[result.ward].conduct_leader
            else:
                assert result.ward in owner.wards


def test_routing_fallbacks(chart: OrgChart) -> None:
    # An assignment on the group itself wins.
    assert route(chart, "HH-TDP06", "LCVH").reason is RouteReason.ASSIGNED
    assert route(chart, "HH-TDP06", "LCVH").owner == "tt-hh-06"
    # An assignment on the ward covers its groups.
    assert route(chart, "HH-TDP11", "RTPT").owner == "cb-hh-mt"
    # An assignment on a zone covers its groups, not the other zone's.
    assert route(chart, "HH-TDP02", "XDKP").owner == "cb-hh-dc1"
    assert route(chart, "HH-TDP07", "XDKP").owner == "cb-hh-dc2"
    # No assignment: the ward's default cadre for the family.
    fallback = route(chart, "HH-TDP02", "LCVH")
    assert (fallback.owner, fallback.reason) == ("cb-hh-ca", RouteReason.FAMILY_DEFAULT)
    # No default either: the ward leader.
    leader = route(chart, "HH-TDP02", "KHAC")
    assert (leader.owner, leader.reason) == ("ld-hh-ct", RouteReason.WARD_LEADER)
    assert route(chart, "BD-TDP01", "RTPT").owner == "ld-bd-ct"


def test_conduct_goes_to_leaders_never_to_the_cadre_of_the_area(chart: OrgChart) -> None:
    result = route(chart, "HH-TDP01", "NNCB")
    assert (result.owner, result.reason) == ("ld-hh-bt", RouteReason.CONDUCT_LEADER)
    about_leaders = route(chart, "HH-TDP01", "NNCB", concerns_leadership=True)
    assert about_leaders.reason is RouteReason.CITY_LEADER
    # "concerns leadership" means nothing for other families.
    assert route(chart, "HH-TDP01", "RTPT", concerns_leadership=True).owner == "cb-hh-mt"


# ---- authorization -------------------------------------------------------------------------


def test_handlers_are_the_owner_their_ward_leaders_and_city_leaders(chart: OrgChart) -> None:
    task = complaint()
    staff = chart.staff
    assert can_handle(Actor(1, staff=staff["cb-hh-mt"]), task)
    assert can_handle(Actor(2, staff=staff["ld-hh-ct"]), task)
    assert can_handle(Actor(3, staff=staff["ld-tp-ct"]), task)
    assert not can_handle(Actor(4, staff=staff["cb-hh-ca"]), task), "another cadre"
    assert not can_handle(Actor(5, staff=staff["ld-bd-ct"]), task), "another ward's leader"
    assert not can_handle(Actor(6), task), "a resident"


def test_ward_leaders_cannot_handle_complaints_about_the_ward_leadership(chart: OrgChart) -> None:
    task = complaint(
        family=Family.OFFICIAL_CONDUCT,
        category="NNCB",
        owner="ld-tp-bt",
        concerns_leadership=True,
    )
    assert not can_handle(Actor(1, staff=chart.staff["ld-hh-ct"]), task)
    assert not can_handle(Actor(2, staff=chart.staff["ld-hh-bt"]), task)
    assert can_handle(Actor(3, staff=chart.staff["ld-tp-bt"]), task)


def test_authorize_checks_party_then_state(chart: OrgChart) -> None:
    owner = Actor(10, staff=chart.staff["cb-hh-mt"])
    reporter = Actor(20)
    stranger = Actor(30)
    task = complaint()
    assert authorize(owner, Action.ACKNOWLEDGE, task, reporter_id=20) is None
    assert authorize(stranger, Action.ACKNOWLEDGE, task, reporter_id=20) is Refusal.NOT_FOUND
    assert (
        authorize(Actor(40, staff=chart.staff["cb-hh-ca"]), Action.ACKNOWLEDGE, task, 20)
        is Refusal.NOT_ALLOWED
    )
    assert authorize(reporter, Action.WITHDRAW, task, reporter_id=20) is None
    assert authorize(owner, Action.WITHDRAW, task, reporter_id=20) is Refusal.NOT_ALLOWED
    assert authorize(reporter, Action.CONFIRM, task, reporter_id=20) is Refusal.WRONG_STATE
    for action, allowed in PERMISSIONS.items():
        if allowed == {Relation.REPORTER} and action is not Action.FILE:
            assert authorize(stranger, action, task, reporter_id=20) is Refusal.NOT_FOUND


# ---- typed answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("rac thai", "Rác thải"),
        ("RÁC THẢI", "rác thải"),
        ("duong", "Đường"),
        ("Đổ rác", "do rac"),
        ("to dan pho 5", "Tổ dân phố 5"),
    ],
)
def test_fold_ignores_diacritics_case_and_d(typed: str, name: str) -> None:
    assert fold(typed) == fold(name)


def test_fold_normalises_decomposed_input() -> None:
    decomposed = "Ra\u0301c"  # "Rác" typed with a combining accent
    assert fold(decomposed) == "rac"


def test_match_typed_prefers_exact_then_all_words() -> None:
    options = [
        Option("A", ["Tổ dân phố 1"]),
        Option("B", ["Tổ dân phố 11"]),
        Option("C", ["Rác không được thu gom"]),
    ]
    assert match_typed("to dan pho 1", options) == ["A"]
    assert match_typed("thu gom", options) == ["C"]
    assert set(match_typed("to dan pho", options)) == {"A", "B"}
    assert match_typed("xyz", options) == []
    assert match_typed("   ", options) == []


# ---- geometry ------------------------------------------------------------------------------


def test_point_in_polygon_and_distance() -> None:
    square = [GeoPoint(0, 0), GeoPoint(1, 0), GeoPoint(1, 1), GeoPoint(0, 1)]
    assert contains(square, GeoPoint(0.5, 0.5))
    assert not contains(square, GeoPoint(1.5, 0.5))
    # One degree of latitude is about 111 km.
    assert distance_km(GeoPoint(107.0, 20.0), GeoPoint(107.0, 21.0)) == pytest.approx(111.2, 0.01)


def test_locate_polygon_then_nearest_centre_then_nothing(chart: OrgChart) -> None:
    polygon_groups = [a for a in chart.groups() if a.polygon]
    centre_groups = [a for a in chart.groups() if a.centre and not a.polygon]
    assert polygon_groups
    assert centre_groups
    target = polygon_groups[0]
    assert target.polygon is not None
    inside = GeoPoint(
        sum(p.lon for p in target.polygon[:3]) / 3, sum(p.lat for p in target.polygon[:3]) / 3
    )
    assert locate(chart, inside, 1.0) == target
    centred = centre_groups[0]
    assert centred.centre is not None
    near = GeoPoint(centred.centre.lon + 0.0005, centred.centre.lat)
    found = locate(chart, near, 1.0)
    assert found is not None
    assert found.kind is AreaKind.GROUP
    assert locate(chart, GeoPoint(105.85, 21.03), 1.0) is None, "Hà Nội is not in Hạ Long"


def test_a_superscript_digit_is_not_a_choice_number() -> None:
    from bot.domain.conversation import Choice, Prompt, pick_by_number
    from bot.domain.messages import text

    prompt = Prompt(1, text("report.ask_family"), (Choice("a", "A"), Choice("b", "B")))
    assert pick_by_number("2", prompt) == "b"
    assert pick_by_number("²", prompt) is None, "found by the fuzz test"
    assert pick_by_number("٢", prompt) == "b", "Arabic-Indic digits are decimals"

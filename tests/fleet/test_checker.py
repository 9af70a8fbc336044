from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.checker import Kind, check
from fleet.problem import Plan, Stop, Unassigned
from fleet.solvers import nearest
from tests.fleet.factories import line, route

A = Stop("a", 1, demand=4, service=1.0, ready=0.0, due=10.0)
B = Stop("b", 2, demand=4, service=1.0, ready=5.0, due=20.0)
C = Stop("c", 3, demand=4, service=1.0, ready=0.0, due=50.0)


def kinds(plan: Plan) -> set[Kind]:
    return {v.kind for v in check(PROBLEM, plan)}


PROBLEM = line(A, B, C)


def test_a_feasible_plan_has_no_violation() -> None:
    plan = Plan(routes=(route(PROBLEM, "v0", "a", "b"), route(PROBLEM, "v1", "c")))
    assert check(PROBLEM, plan) == []


def test_capacity_exceeded() -> None:
    assert kinds(Plan(routes=(route(PROBLEM, "v0", "a", "b", "c"),))) == {Kind.CAPACITY}


def test_window_missed() -> None:
    late = line(A, Stop("b", 2, due=1.0), vehicles=1)
    assert {v.kind for v in check(late, Plan(routes=(route(late, "v0", "a", "b"),)))} == {Kind.WINDOW}


def test_shift_exceeded() -> None:
    short = line(A, B, C, shift_end=7.0, capacity=100, vehicles=1)
    assert {v.kind for v in check(short, Plan(routes=(route(short, "v0", "a", "b", "c"),)))} == {Kind.SHIFT}


def test_stop_visited_twice() -> None:
    plan = Plan(routes=(route(PROBLEM, "v0", "a", "b"), route(PROBLEM, "v1", "c", "a")))
    assert kinds(plan) == {Kind.DUPLICATE}


def test_stop_both_visited_and_unassigned() -> None:
    plan = Plan(routes=(route(PROBLEM, "v0", "a", "b"), route(PROBLEM, "v1", "c")), unassigned=(Unassigned("c", "x"),))
    assert kinds(plan) == {Kind.DUPLICATE}


def test_stop_missing() -> None:
    assert kinds(Plan(routes=(route(PROBLEM, "v0", "a", "b"),))) == {Kind.MISSING}


def test_a_missing_stop_listed_unassigned_is_fine() -> None:
    plan = Plan(routes=(route(PROBLEM, "v0", "a", "b"),), unassigned=(Unassigned("c", "no room"),))
    assert check(PROBLEM, plan) == []


def test_unknown_stop() -> None:
    plan = Plan(routes=(route(PROBLEM, "v0", "a", "b"), route(PROBLEM, "v1", "c", "zz")))
    assert Kind.UNKNOWN_STOP in kinds(plan)


def test_unknown_and_reused_vehicles() -> None:
    assert kinds(Plan(routes=(route(PROBLEM, "v0", "a", "b"), route(PROBLEM, "v9", "c")))) >= {Kind.UNKNOWN_VEHICLE}
    assert kinds(Plan(routes=(route(PROBLEM, "v0", "a", "b"), route(PROBLEM, "v0", "c")))) == {Kind.VEHICLE_REUSED}


def test_distance_mismatch() -> None:
    true = route(PROBLEM, "v1", "c").distance
    plan = Plan(routes=(route(PROBLEM, "v0", "a", "b"), route(PROBLEM, "v1", "c", distance=true * (1 + 1e-5))))
    assert kinds(plan) == {Kind.DISTANCE}
    within = Plan(routes=(route(PROBLEM, "v0", "a", "b"), route(PROBLEM, "v1", "c", distance=true * (1 + 1e-8))))
    assert check(PROBLEM, within) == []


def test_reported_start_before_ready_is_inconsistent() -> None:
    good = route(PROBLEM, "v0", "a", "b")
    early = type(good)(**{**{f: getattr(good, f) for f in good.__slots__}, "starts": (1.0, 3.0)})
    assert kinds(Plan(routes=(early, route(PROBLEM, "v1", "c")))) == {Kind.SCHEDULE}


problems = st.lists(
    st.tuples(
        st.integers(1, 6),  # location
        st.integers(0, 6),  # demand
        st.floats(0, 5),  # service
        st.floats(0, 40),  # ready
        st.floats(0, 40),  # window length
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(problems, st.integers(1, 4))
def test_the_baseline_always_passes_the_checker(spec: list[tuple[int, int, float, float, float]], fleet: int) -> None:
    stops = [Stop(str(k), loc, d, s, r, r + w) for k, (loc, d, s, r, w) in enumerate(spec)]
    problem = line(*stops, capacity=8, shift_end=60.0, vehicles=fleet)
    plan = nearest.solve(problem, 1.0)
    assert check(problem, plan) == []
    if plan.routes and plan.routes[0].stops:
        dropped = plan.routes[0].stops[0]
        broken = Plan(routes=(route(problem, plan.routes[0].vehicle, *plan.routes[0].stops[1:]), *plan.routes[1:]))
        assert any(v.kind == Kind.MISSING and v.stop == dropped for v in check(problem, broken))

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

from fleet.checker import check
from fleet.problem import Stop
from fleet.solvers import DEFAULT, MODULES, solver
from fleet.solvers.base import NOT_PLACED
from tests.fleet.factories import line, solomon

NAMES = sorted(MODULES)


@pytest.mark.parametrize("instance", ["C101", "R101"])
@pytest.mark.parametrize("name", NAMES)
def test_plans_pass_the_checker(name: str, instance: str) -> None:
    problem = solomon(instance, customers=25)
    plan = solver(name)(problem, 1.0, seed=1)
    assert check(problem, plan) == []
    assert plan.unassigned == ()
    assert plan.solver == name
    assert plan.vehicles_used == len(plan.routes) > 0


@pytest.mark.parametrize("name", ["pyvrp", "ortools"])
def test_hierarchical_uses_no_more_vehicles_than_distance(name: str) -> None:
    fewest = solver(name)(solomon("R101", 25, "hierarchical"), 1.0, seed=1)
    shortest = solver(name)(solomon("R101", 25, "distance"), 1.0, seed=1)
    assert check(solomon("R101", 25), fewest) == [] and check(solomon("R101", 25), shortest) == []
    assert fewest.vehicles_used <= shortest.vehicles_used
    assert shortest.distance <= fewest.distance * 1.001


@pytest.mark.parametrize("name", NAMES)
def test_impossible_stops_are_unassigned_with_a_reason(name: str) -> None:
    problem = line(
        Stop("ok", 1, demand=2, ready=0.0, due=50.0),
        Stop("heavy", 2, demand=11),
        Stop("too-late", 30, due=10.0),
        Stop("cannot-return", 3, service=5.0, ready=95.0, due=99.0),
        capacity=10,
        shift_end=100.0,
    )
    plan = solver(name)(problem, 0.5)
    assert check(problem, plan) == []
    reasons = {u.stop: u.reason for u in plan.unassigned}
    assert set(reasons) == {"heavy", "too-late", "cannot-return"}
    assert "capacity" in reasons["heavy"]
    assert "time window" in reasons["too-late"] and "time window" in reasons["cannot-return"]
    assert [r.stops for r in plan.routes] == [("ok",)]


@pytest.mark.parametrize("name", NAMES)
def test_stops_beyond_the_fleet_are_left_with_a_reason(name: str) -> None:
    # one vehicle, two stops whose windows it cannot both keep
    problem = line(Stop("a", 5, ready=10.0, due=10.0), Stop("b", 6, ready=10.0, due=10.0), vehicles=1)
    plan = solver(name)(problem, 0.5)
    assert check(problem, plan) == []
    assert len(plan.unassigned) == 1 and plan.unassigned[0].reason == NOT_PLACED


@pytest.mark.parametrize("name", NAMES)
def test_progress_reports_improving_objectives(name: str) -> None:
    seen: list[float] = []
    solver(name)(solomon("C101", 25), 1.0, on_progress=seen.append)
    assert seen and seen == sorted(seen, reverse=True)


def test_solvers_run_in_another_process() -> None:
    problem = solomon("C101", 10)
    assert pickle.loads(pickle.dumps(solver(DEFAULT))) is solver(DEFAULT)
    with ProcessPoolExecutor(max_workers=1) as pool:
        plan = pool.submit(solver(DEFAULT), problem, 0.5).result(timeout=60)
    assert check(problem, plan) == []


def test_unknown_solver_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown solver 'gurobi'"):
        solver("gurobi")

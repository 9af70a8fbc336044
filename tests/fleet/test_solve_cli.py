from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fleet.solve_cli import main
from tests.fleet.factories import SOLOMON, solomon_data

app = typer.Typer()
app.command("solve")(main)
app.command("noop")(lambda: None)  # with two commands, "solve" is addressed by name as in `switchboard solve`


def run(*args: str) -> tuple[int, dict[str, object] | None, str]:
    result = CliRunner().invoke(app, ["solve", *args])
    try:
        return result.exit_code, json.loads(result.stdout), result.stderr
    except json.JSONDecodeError:
        return result.exit_code, None, result.stderr + result.stdout


def test_solves_an_instance_and_prints_the_gap() -> None:
    code, out, _ = run(str(SOLOMON / "C101.json"), "--time-limit", "1")
    assert code == 0 and out is not None
    assert out["feasible"] is True and out["vehicles"] == 10
    routes = out["routes"]
    assert isinstance(routes, list) and sorted(c for r in routes for c in r) == list(range(1, 101))
    gap = out["gap"]
    assert isinstance(gap, dict) and gap["best_known_distance"] == 828.94 and gap["distance_only_unrounded"] == 828.94
    assert -0.01 <= gap["percent"] <= 5.0


@pytest.mark.parametrize("solver", ["nearest", "ortools"])
def test_other_solvers_and_the_distance_objective(tmp_path: Path, solver: str) -> None:
    small = tmp_path / "r101-20.json"
    small.write_text(json.dumps(solomon_data("R101", customers=20)))
    code, out, _ = run(str(small), "--time-limit", "0.5", "--solver", solver, "--objective", "distance")
    assert code == 0 and out is not None and out["feasible"] is True and "gap" not in out


def test_a_bad_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "x", "customers": []}))
    code, out, err = run(str(bad))
    assert code == 2 and out is None and "cannot read" in err and "not a Solomon instance" in err
    code, _, err = run(str(tmp_path / "missing.json"))
    assert code == 2 and "cannot read" in err


def test_bad_options_are_refused() -> None:
    code, _, err = run(str(SOLOMON / "C101.json"), "--objective", "cheapest")
    assert code == 2 and "hierarchical" in err
    code, _, err = run(str(SOLOMON / "C101.json"), "--solver", "gurobi")
    assert code == 2 and "pyvrp" in err


def test_an_infeasible_plan_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    from fleet import solve_cli
    from fleet.problem import Plan, Problem, Route

    def everything_on_one_van(problem: Problem, time_limit_s: float, **_: object) -> Plan:
        ids = tuple(s.id for s in problem.stops)
        zeros = tuple(0.0 for _ in ids)
        return Plan(routes=(Route(problem.vehicles[0].id, ids, zeros, zeros, 0.0, 0.0, 0.0, 0),))

    monkeypatch.setattr(solve_cli, "solver", lambda name: everything_on_one_van)
    code, out, err = run(str(SOLOMON / "C101.json"))
    assert code == 1 and out is not None and out["feasible"] is False
    assert "capacity exceeded" in err and "window missed" in err

"""`switchboard solve FILE.json`: plan a Solomon-format instance, check it, print the plan as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from fleet.checker import check
from fleet.problem import OBJECTIVES, Objective, Plan, from_solomon
from fleet.solvers import DEFAULT, MODULES, solver


def _gap(distance: float, reference: Any) -> float | None:
    if not isinstance(reference, int | float) or reference <= 0:
        return None
    return round(100.0 * (distance - reference) / reference, 3)


def report(data: dict[str, Any], plan: Plan, feasible: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "routes": [[int(s) if s.isdigit() else s for s in route.stops] for route in plan.routes if route.stops],
        "distance": round(plan.distance, 6),
        "vehicles": plan.vehicles_used,
        "feasible": feasible,
    }
    if plan.unassigned:
        out["unassigned"] = [{"id": u.stop, "reason": u.reason} for u in plan.unassigned]
    known = data.get("best_known")
    if isinstance(known, dict):
        out["gap"] = {
            "best_known_vehicles": known.get("vehicles"),
            "best_known_distance": known.get("distance"),
            "percent": _gap(plan.distance, known.get("distance")),
        }
        distance_only = data.get("best_known_distance_only")
        if isinstance(distance_only, dict) and "same_routes_unrounded_distance" in distance_only:
            reference = distance_only["same_routes_unrounded_distance"]
            out["gap"]["distance_only_unrounded"] = reference
            out["gap"]["distance_only_percent"] = _gap(plan.distance, reference)
    return out


def main(
    file: Annotated[Path, typer.Argument(help="a Solomon instance in the JSON format of tests/fixtures/vrp")],
    time_limit: Annotated[float, typer.Option("--time-limit", help="seconds the solver may search")] = 5.0,
    solver_name: Annotated[str, typer.Option("--solver", help=f"one of {', '.join(MODULES)}")] = DEFAULT,
    objective: Annotated[
        str, typer.Option("--objective", help="hierarchical (fewest vehicles, then distance) or distance")
    ] = "hierarchical",
) -> None:
    """Solve a VRPTW instance and print the plan, whether the independent checker accepts it, and its gap."""
    if objective not in OBJECTIVES:
        raise typer.BadParameter(f"must be one of {', '.join(OBJECTIVES)}", param_hint="--objective")
    if solver_name not in MODULES:
        raise typer.BadParameter(f"must be one of {', '.join(MODULES)}", param_hint="--solver")
    if time_limit <= 0:
        raise typer.BadParameter("must be positive", param_hint="--time-limit")
    try:
        data = json.loads(file.read_text())
        if not isinstance(data, dict):
            raise ValueError("the top level is not an object")
        chosen: Objective = "distance" if objective == "distance" else "hierarchical"
        problem = from_solomon(data, chosen)
    except (OSError, ValueError) as error:
        typer.echo(f"error: cannot read {file} as a Solomon instance: {error}", err=True)
        raise typer.Exit(2) from error
    plan = solver(solver_name)(problem, time_limit)
    violations = check(problem, plan)
    for violation in violations:
        typer.echo(f"violation: {violation.kind.value}: {violation.detail}", err=True)
    typer.echo(json.dumps(report(data, plan, not violations)))
    if violations:
        raise typer.Exit(1)

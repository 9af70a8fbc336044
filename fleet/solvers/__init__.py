"""Solver adapters behind one interface: `solve(problem, time_limit_s, seed=..., on_progress=...) -> Plan`.

Each is a top-level function, so a ProcessPoolExecutor can pickle and run it in another process.
"""

from __future__ import annotations

import importlib

from fleet.problem import Plan, Problem
from fleet.solvers.base import ProgressCallback, Solver

# name -> module holding that adapter's `solve`
MODULES = {
    "pyvrp": "fleet.solvers.pyvrp_adapter",
    "ortools": "fleet.solvers.ortools_adapter",
    "vroom": "fleet.solvers.vroom_adapter",
    "nearest": "fleet.solvers.nearest",
}
# measured in bench/vrp.py on the six Solomon instances: PyVRP reaches the best-known vehicle count and the
# smallest gaps at both 5 s and 30 s
DEFAULT = "pyvrp"


def solver(name: str) -> Solver:
    """The adapter `name`, imported on first use (OR-Tools alone takes half a second to import)."""
    if name not in MODULES:
        raise ValueError(f"unknown solver {name!r}; choose one of {', '.join(MODULES)}")
    found: Solver = importlib.import_module(MODULES[name]).solve
    return found


def solve(
    problem: Problem,
    time_limit_s: float,
    *,
    solver_name: str = DEFAULT,
    seed: int = 0,
    on_progress: ProgressCallback | None = None,
) -> Plan:
    return solver(solver_name)(problem, time_limit_s, seed=seed, on_progress=on_progress)


__all__ = ["DEFAULT", "MODULES", "Solver", "solve", "solver"]

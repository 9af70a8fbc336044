"""Solvers on the six Solomon VRPTW instances against their best-known results.

    .venv/bin/python bench/vrp.py [--limits 5,30] [--solvers pyvrp,ortools,vroom,nearest] [--instances C101,R101]
                                  [--objective hierarchical|distance] [--seed 1]

Each solve runs alone, one after the other, so solvers do not compete for cores. Gaps are in percent of total
distance: to the hierarchical best known (fewest vehicles, then distance) and to the distance-only best known's
routes measured unrounded. Every plan goes through fleet.checker. The nearest-neighbour baseline runs once.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fleet.checker import check  # noqa: E402
from fleet.problem import from_solomon  # noqa: E402
from fleet.solvers import MODULES, solver  # noqa: E402

FOLDER = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "vrp" / "solomon"


def gap(distance: float, reference: float | None) -> float | None:
    return None if not reference else 100.0 * (distance - reference) / reference


def cell(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limits", default="5,30", help="time limits in seconds, comma-separated")
    parser.add_argument("--solvers", default=",".join(MODULES))
    parser.add_argument("--instances", default=",".join(sorted(p.stem for p in FOLDER.glob("*.json"))))
    parser.add_argument("--objective", default="hierarchical", choices=["hierarchical", "distance"])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    limits = [float(x) for x in args.limits.split(",")]
    rows: list[dict[str, object]] = []
    print(
        f"{'instance':<8} {'solver':<8} {'limit':>5} {'veh':>4} {'bk veh':>6} {'distance':>9} "
        f"{'gap %':>7} {'gap dist-only %':>15} {'feasible':>8} {'secs':>5}",
        flush=True,
    )
    for name in args.instances.split(","):
        data = json.loads((FOLDER / f"{name}.json").read_text())
        problem = from_solomon(data, args.objective)
        known = data.get("best_known", {})
        distance_only = data.get("best_known_distance_only", {}).get("same_routes_unrounded_distance")
        for solver_name in args.solvers.split(","):
            for limit in limits if solver_name != "nearest" else limits[:1]:
                started = time.perf_counter()
                plan = solver(solver_name)(problem, limit, seed=args.seed)
                seconds = time.perf_counter() - started
                row = {
                    "instance": name,
                    "solver": solver_name,
                    "limit": limit,
                    "vehicles": plan.vehicles_used,
                    "known_vehicles": known.get("vehicles"),
                    "distance": plan.distance,
                    "gap": gap(plan.distance, known.get("distance")),
                    "gap_distance_only": gap(plan.distance, distance_only),
                    "feasible": not check(problem, plan),
                }
                rows.append(row)
                known_vehicles = known.get("vehicles", "-")
                print(
                    f"{name:<8} {solver_name:<8} {limit:>5.0f} {plan.vehicles_used:>4} {known_vehicles!s:>6} "
                    f"{plan.distance:>9.2f} {cell(row['gap'])!s:>7} {cell(row['gap_distance_only'])!s:>15} "
                    f"{row['feasible']!s:>8} {seconds:>5.1f}",
                    flush=True,
                )
    print()
    print(f"{'solver':<8} {'limit':>5} {'at bk veh':>9} {'mean gap % there':>16} {'mean gap % all':>14}", end="")
    print(f" {'all feasible':>12}")
    for solver_name in args.solvers.split(","):
        for limit in limits if solver_name != "nearest" else limits[:1]:
            mine = [r for r in rows if r["solver"] == solver_name and r["limit"] == limit]
            equal = [r for r in mine if r["vehicles"] == r["known_vehicles"]]
            there = statistics.fmean(float(r["gap"]) for r in equal) if equal else None  # type: ignore[arg-type]
            overall = statistics.fmean(float(r["gap"]) for r in mine if r["gap"] is not None)  # type: ignore[arg-type]
            feasible = all(r["feasible"] for r in mine)
            print(
                f"{solver_name:<8} {limit:>5.0f} {len(equal):>5}/{len(mine):<3} {cell(there):>16} {cell(overall):>14} "
                f"{feasible!s:>12}"
            )


if __name__ == "__main__":
    main()

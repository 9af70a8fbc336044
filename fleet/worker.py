"""What runs in the solver's process: build the matrix and problem, solve with progress to Redis, check.

A top-level function over picklable values, so a ProcessPoolExecutor can run it; progress crosses the process
boundary through Redis (the job's hash and stream), never through the server's event loop.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from datasources.postgres.records import StopRecord, VehicleRecord
from datasources.redis.jobs import SyncJobWriter
from fleet.checker import check
from fleet.matrix import haversine_matrices, osrm_table
from fleet.planning import build_problem, summary
from fleet.problem import Objective
from fleet.solvers import solve

PROGRESS_EVERY_S = 0.25  # at most this often a progress event, however often the solver improves


@dataclass(frozen=True)
class JobRequest:
    job_id: str
    account_id: int
    on: date
    stops: tuple[StopRecord, ...]
    vehicles: tuple[VehicleRecord, ...]
    time_limit_s: float
    objective: Objective
    solver: str
    redis_url: str
    job_ttl_s: int
    osrm_url: str = ""


PARENT_CHECK_S = 1.0


def start_worker() -> None:
    """The pool's initializer: solves yield the CPU to the server's event loop, and the process ends with the
    server that started it."""
    try:
        os.nice(10)
    except OSError:
        pass
    exit_with_parent()


def exit_with_parent(every: float = PARENT_CHECK_S) -> None:
    """Ends this process once its parent is gone. A server that is killed (SIGKILL, the OOM killer) cannot shut its
    pool down, and the pool's processes, idle, would outlive it: 150 MB each, until the machine restarts. Polling
    the parent's pid rather than PR_SET_PDEATHSIG, which fires when the thread that spawned the process exits,
    and a pool may spawn from any thread."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def warm() -> None:
    """Imports the solvers once, so the first job does not pay for it."""
    from fleet.solvers import DEFAULT, solver

    solver(DEFAULT)


def run_job(request: JobRequest) -> dict[str, Any]:
    writer = SyncJobWriter(request.redis_url, account_id=request.account_id, job_id=request.job_id,
                           ttl_s=request.job_ttl_s)
    try:
        started = time.monotonic()
        writer.update("running", status="running", progress=0.0)
        if request.osrm_url:
            def matrices(points: Any) -> Any:
                return osrm_table(request.osrm_url, points)
        else:
            matrices = haversine_matrices
        problem = build_problem(request.on, request.stops, request.vehicles, matrices, request.objective)
        best: list[float] = []
        last = [0.0]

        def on_progress(cost: float) -> None:
            best.append(cost)
            now = time.monotonic()
            if now - last[0] >= PROGRESS_EVERY_S:
                last[0] = now
                share = min((now - started) / max(request.time_limit_s, 1e-9), 0.99)
                writer.update("progress", best_objective=cost, progress=round(share, 3))

        plan = solve(problem, request.time_limit_s, solver_name=request.solver, on_progress=on_progress)
        violations = check(problem, plan)
        return summary(request.on, plan, violations, best[-1] if best else None)
    finally:
        writer.close()

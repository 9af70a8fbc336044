"""Route-optimisation jobs: snapshot the stops and vehicles, solve in a bounded process pool, apply in one
transaction. Job state lives in Redis (datasources/redis/jobs.py) so any replica answers `job(id)`.

The pool has `workers` processes and a semaphore of the same size: a job waits QUEUED for a free process, so
a burst of requests never piles more work on the pool than it can run, and the event loop only awaits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

from datasources.postgres import planning
from datasources.postgres.errors import Conflict, NotFound
from datasources.postgres.records import RouteRecord
from datasources.redis import jobs
from datasources.redis.jobs import JobState
from datasources.stores import Stores
from fleet.problem import OBJECTIVES, Objective
from fleet.solvers import DEFAULT
from fleet.worker import JobRequest, run_job, start_worker, warm

log = logging.getLogger(__name__)


class Planner:
    def __init__(
        self,
        stores: Stores,
        *,
        redis_url: str,
        workers: int = 1,
        solver: str = DEFAULT,
        osrm_url: str = "",
        job_ttl_s: int = 86_400,
    ) -> None:
        self.stores = stores
        self.redis_url = redis_url
        self.solver = solver
        self.osrm_url = osrm_url
        self.job_ttl_s = job_ttl_s
        # spawn, not fork: the server has threads (asyncpg, chroma), and a forked copy of them can deadlock
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=start_worker)
        self.slots = asyncio.Semaphore(workers)
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self.pool.submit(warm)  # imports the solver in the child while the server starts

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        processes = list(getattr(self.pool, "_processes", {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:  # a solve runs up to its time limit; shutting down does not wait for it
            process.terminate()

    async def submit(
        self,
        *,
        account_id: int,
        on: date,
        vehicle_ids: list[int],
        stop_ids: list[int] | None,
        time_limit_s: float,
        objective: str,
    ) -> JobState:
        """A QUEUED job; raises NotFound for an unknown id, Conflict for a stop that cannot be planned."""
        if objective not in OBJECTIVES:
            raise Conflict("input.objective", f"must be one of {', '.join(OBJECTIVES)}")
        snap = await planning.snapshot(self.stores.db, account_id=account_id, on=on, vehicle_ids=vehicle_ids,
                                       stop_ids=stop_ids)
        if not snap.stops:
            raise Conflict("input.stopIds", f"no pending stops to plan on {on.isoformat()}")
        job_id = uuid.uuid4().hex
        state = JobState(id=job_id, account_id=account_id, status="queued", on=on.isoformat(),
                         created_at=datetime.now(UTC).isoformat(), time_limit_s=time_limit_s, objective=objective,
                         fingerprint=snap.fingerprint)
        await jobs.create_job(self.stores.redis, state=state, ttl_s=self.job_ttl_s)
        obj: Objective = "distance" if objective == "distance" else "hierarchical"
        request = JobRequest(job_id, account_id, on, tuple(snap.stops), tuple(snap.vehicles), time_limit_s, obj,
                             self.solver, self.redis_url, self.job_ttl_s, self.osrm_url)
        task = asyncio.create_task(self._run(request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return state

    async def _run(self, request: JobRequest) -> None:
        update: Any = jobs.update_job
        where = {"account_id": request.account_id, "job_id": request.job_id, "ttl_s": self.job_ttl_s}
        try:
            async with self.slots:
                result = await asyncio.get_running_loop().run_in_executor(self.pool, run_job, request)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await update(self.stores.redis, kind="failed", status="failed", error="the server shut down", **where)
            raise
        except Exception as exc:
            log.warning("optimisation job %s failed", request.job_id, exc_info=True)
            await update(self.stores.redis, kind="failed", status="failed",
                         error=f"{type(exc).__name__}: {exc}"[:500], **where)
            return
        status, error = "done", None
        if not result["feasible"]:
            # never offered for applying: the independent checker refused the solver's plan
            status, error = "failed", "the plan failed the feasibility check: " + "; ".join(result["violations"][:3])
        await update(self.stores.redis, kind="result" if status == "done" else "failed", status=status, progress=1.0,
                     result=result, error=error, best_objective=result["objective_value"], **where)

    async def job(self, *, account_id: int, job_id: str) -> JobState | None:
        return await jobs.job(self.stores.redis, account_id=account_id, job_id=job_id)

    async def apply(self, *, account_id: int, job_id: str) -> list[RouteRecord]:
        """The routes written; NotFound for an unknown or expired job, Conflict for one not done or stale."""
        state = await jobs.job(self.stores.redis, account_id=account_id, job_id=job_id)
        if state is None:
            raise NotFound("OptimizationJob", job_id)
        if state.status != "done" or state.result is None:
            raise Conflict("jobId", f"the job is {state.status}" + (f": {state.error}" if state.error else "")
                           + "; only a finished job's plan can be applied")
        if state.applied_at is not None:
            raise Conflict("jobId", f"the plan was already applied at {state.applied_at}")
        routes = [
            planning.PlannedRoute(r["vehicle_id"], r["stop_ids"], [datetime.fromisoformat(t) for t in r["etas"]],
                                  r["distance_km"], r["duration_min"])
            for r in state.result["routes"]
        ]
        written = await planning.apply_plan(self.stores.db, account_id=account_id, on=date.fromisoformat(state.on),
                                            job_id=job_id, routes=routes, expected=state.fingerprint)
        await jobs.update_job(self.stores.redis, account_id=account_id, job_id=job_id, kind="applied",
                              ttl_s=self.job_ttl_s, applied_at=datetime.now(UTC).isoformat())
        return written

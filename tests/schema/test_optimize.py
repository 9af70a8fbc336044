"""optimizeRoutes end to end over real HTTP and WebSocket: the job, its progress, applyPlan, the routes with
ETAs; a stale plan refused; a solve that does not hold up other queries."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

from gql import GraphQLRequest

from tests.client import GraphQL
from tests.schema import fleet_world as world
from tests.servers import AppServer

JOB_FIELDS = """id status bestObjective progress error date
  result { feasible vehiclesUsed distanceKm solver violations unassigned { stopId reason }
           routes { distanceKm durationMin load etas stopIds vehicle { id } } }"""
OPTIMIZE = f"""mutation($input: OptimizeRoutesInput!) {{ optimizeRoutes(input: $input) {{ __typename
  ... on OptimizationJobPayload {{ job {{ {JOB_FIELDS} }} }}
  ... on ValidationError {{ field message }} ... on NotFoundError {{ field message }}
  ... on ConflictError {{ field message }} }} }}"""
JOB = f"query($id: ID!) {{ job(id: $id) {{ {JOB_FIELDS} }} }}"
PROGRESS = f"""subscription($id: ID!) {{ optimizationProgress(jobId: $id) {{ cursor type
  job {{ {JOB_FIELDS} }} }} }}"""
APPLY = """mutation($id: ID!) { applyPlan(jobId: $id) { __typename
  ... on ApplyPlanPayload { routes { id optimized distanceKm durationMin vehicle { id }
        stops { id sequence eta timeWindow { start end } } } }
  ... on ConflictError { field message } ... on NotFoundError { field message } } }"""
ROUTES = """query($d: Date!) { routes(first: 50, date: $d) { edges { node { id status optimized distanceKm
  stops { id eta } } } } }"""


async def optimize(gql: GraphQL, **input: Any) -> dict[str, Any]:
    out = (await gql.query(OPTIMIZE, input=input))["optimizeRoutes"]
    assert out["__typename"] == "OptimizationJobPayload", out
    return out["job"]


async def finished(gql: GraphQL, job_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = (await gql.query(JOB, id=job_id))["job"]
        if job["status"] in ("DONE", "FAILED"):
            return job
        await asyncio.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


async def test_optimize_streams_progress_then_applies_with_etas(
    app_server: AppServer, gql: GraphQL, owner_token: str
) -> None:
    on = world.fresh_date()
    vans = await world.vehicles(gql, 3)
    await world.route(gql, on, 6, seed=1)
    await world.route(gql, on, 6, seed=2)
    job = await optimize(gql, date=on.isoformat(), vehicleIds=vans, unplannedForDate=True, timeLimitSeconds=1)
    assert job["status"] == "QUEUED" and job["result"] is None

    events: list[dict[str, Any]] = []

    async def follow() -> None:
        async with world.ws_client(app_server, owner_token) as session:
            async for result in session.subscribe(GraphQLRequest(PROGRESS, variable_values={"id": job["id"]})):
                events.append(result["optimizationProgress"])

    await asyncio.wait_for(follow(), 45)  # the subscription ends after the result
    kinds = [e["type"] for e in events]
    assert kinds[0] == "queued" and kinds[-1] == "result", kinds
    cursors = [e["cursor"] for e in events]
    assert cursors == sorted(cursors, key=lambda c: tuple(map(int, c.split("-")))) and len(set(cursors)) == len(cursors)
    done = events[-1]["job"]
    assert done["status"] == "DONE" and done["result"]["feasible"], done
    assert done["bestObjective"] is not None
    result = done["result"]
    placed = sorted(s for r in result["routes"] for s in r["stopIds"])
    assert len(placed) + len(result["unassigned"]) == 12
    assert len(placed) >= 10, result["unassigned"]

    applied = (await gql.query(APPLY, id=job["id"]))["applyPlan"]
    assert applied["__typename"] == "ApplyPlanPayload", applied
    for route in applied["routes"]:
        assert route["optimized"] and route["distanceKm"] > 0 and route["durationMin"] > 0
        assert route["vehicle"]["id"] in vans
        assert [s["sequence"] for s in route["stops"]][: len(route["stops"])] == list(range(1, len(route["stops"]) + 1))
        for stop in route["stops"]:
            # arriving early is fine (the driver waits); arriving after the window closes is not
            assert datetime.fromisoformat(stop["eta"]) <= datetime.fromisoformat(stop["timeWindow"]["end"])
    listed = (await gql.query(ROUTES, d=on.isoformat()))["routes"]["edges"]
    optimised = [e["node"] for e in listed if e["node"]["optimized"]]
    assert {r["id"] for r in optimised} == {r["id"] for r in applied["routes"]}
    assert all(s["eta"] for r in optimised for s in r["stops"])
    # the emptied source routes are canceled; nothing is lost
    assert sum(len(e["node"]["stops"]) for e in listed) == 12

    again = (await gql.query(APPLY, id=job["id"]))["applyPlan"]
    assert again["__typename"] == "ConflictError" and "already applied" in again["message"]


async def test_a_plan_on_changed_data_is_refused(gql: GraphQL) -> None:
    on = world.fresh_date()
    vans = await world.vehicles(gql, 2)
    route = await world.route(gql, on, 5, seed=3)
    job = await finished(gql, (await optimize(gql, date=on.isoformat(), vehicleIds=vans,
                                               stopIds=[s["id"] for s in route["stops"]], timeLimitSeconds=1))["id"])
    assert job["status"] == "DONE", job
    changed = route["stops"][2]["id"]
    await gql.query('mutation($s: ID!) { updateStopStatus(stopId: $s, status: EN_ROUTE) { __typename } }', s=changed)
    refused = (await gql.query(APPLY, id=job["id"]))["applyPlan"]
    assert refused["__typename"] == "ConflictError", refused
    assert refused["field"] == "jobId" and "changed since" in refused["message"], refused
    assert "stop" in refused["message"]
    listed = (await gql.query(ROUTES, d=on.isoformat()))["routes"]["edges"]
    assert not any(e["node"]["optimized"] for e in listed), "a refused plan writes nothing"


async def test_bad_optimize_input_is_a_typed_error(gql: GraphQL) -> None:
    on = world.fresh_date()
    vans = await world.vehicles(gql, 1)
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"vehicleIds": vans, "unplannedForDate": True, "timeLimitSeconds": 0}, "ValidationError",
         "input.timeLimitSeconds"),
        ({"vehicleIds": [], "unplannedForDate": True}, "ValidationError", "input.vehicleIds"),
        ({"vehicleIds": vans}, "ValidationError", "input.stopIds"),
        ({"vehicleIds": ["bm90LWFuLWlk"], "unplannedForDate": True}, "ValidationError", "input.vehicleIds[0]"),
        ({"vehicleIds": vans, "unplannedForDate": True}, "ConflictError", "input.stopIds"),  # nothing to plan
    ]
    for extra, kind, field in cases:
        out = (await gql.query(OPTIMIZE, input={"date": on.isoformat(), **extra}))["optimizeRoutes"]
        assert (out["__typename"], out.get("field")) == (kind, field), (extra, out)
    assert (await gql.query(JOB, id="0" * 32))["job"] is None
    assert (await gql.query(JOB, id="not-a-job"))["job"] is None, "a string that names no job finds nothing"
    unknown = (await gql.query(APPLY, id="0" * 32))["applyPlan"]
    assert (unknown["__typename"], unknown["field"]) == ("NotFoundError", "jobId")


async def test_a_solve_does_not_hold_up_other_queries(gql: GraphQL) -> None:
    on = world.fresh_date()
    vans = await world.vehicles(gql, 3)
    await world.route(gql, on, 12, seed=4)
    job = await optimize(gql, date=on.isoformat(), vehicleIds=vans, unplannedForDate=True, timeLimitSeconds=4)
    deadline = time.monotonic() + 20
    while (await gql.query(JOB, id=job["id"]))["job"]["status"] != "RUNNING":
        assert time.monotonic() < deadline, "the job never ran"
        await asyncio.sleep(0.05)
    timings = []
    for _ in range(10):
        started = time.perf_counter()
        await gql.query("{ me { role } }")
        timings.append(time.perf_counter() - started)
    assert (await gql.query(JOB, id=job["id"]))["job"]["status"] == "RUNNING", "measured while it solved"
    assert max(timings) < 1.0, timings
    assert (await finished(gql, job["id"]))["status"] == "DONE"


async def test_a_demo_day_optimises_at_once(gql: GraphQL) -> None:
    """The GraphiQL example's operation: today's demo stops over the demo vans, nothing else to set up."""
    listed = (await gql.query("{ vehicles(first: 100) { edges { node { id plate capacity depot { latitude } } } } }"))
    vans = [e["node"] for e in listed["vehicles"]["edges"] if e["node"]["plate"].startswith("ACM-")]
    assert len(vans) == 6 and all(v["depot"] and v["capacity"] for v in vans)
    job = await optimize(gql, date=datetime.now(UTC).date().isoformat(), vehicleIds=[v["id"] for v in vans],
                         unplannedForDate=True, timeLimitSeconds=1)
    done = await finished(gql, job["id"])
    assert done["status"] == "DONE" and done["result"]["feasible"], done
    placed = sum(len(r["stopIds"]) for r in done["result"]["routes"])
    assert placed >= 10 and placed >= 2 * len(done["result"]["unassigned"]), done["result"]

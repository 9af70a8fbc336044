"""Compiled reads of one turn of the event loop with the same shape run as one statement (`prepared_many`), and
each caller gets exactly what its own statement gives: its account, its driver scope, its page and filters."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date
from typing import Any

from graphql import parse

from datasources.postgres import Database, identity, routes
from datasources.postgres.compiled import prepared, prepared_many, read
from resolvers.compiled.plan import Plan, plan
from resolvers.ids import encode
from resolvers.pagination import encode_cursor
from schema.root import build_schema
from tests.datasources.postgres.test_postgres import stop, tenant

SCHEMA = build_schema([])._schema
PAGE = """query($first: Int, $after: String, $status: RouteStatus, $date: Date) {
  routes(first: $first, after: $after, status: $status, date: $date) {
    edges { cursor node { id number status date driver { email } stops { sequence address } } }
    pageInfo { hasNextPage } } }"""
BY_ID = "query($id: ID!) { route(id: $id) { id number name stops { sequence } } account { name slug } }"
DAYS = (date(2034, 1, 1), date(2034, 1, 2))


def planned(query: str, **variables: Any) -> Plan:
    found = plan(SCHEMA, parse(query), operation_name=None, variables=variables, max_page_size=100)
    assert found is not None
    return found


async def alone(db: Database, found: Plan, account_id: int, driver_id: int | None) -> str:
    values = {"account_id": account_id, **found.params, **({"scope_driver": driver_id} if driver_id else {})}
    rows = await db.fetch(prepared(found.roots, driver_id is not None), **values)
    return str(rows[0][0])


async def test_reads_of_one_turn_answer_each_caller_as_its_own_statement(
    db: Database, batches: list[int],
) -> None:
    callers: list[tuple[int, int | None]] = []
    route_ids: list[int] = []
    for _ in range(3):
        account = await tenant(db)
        driver = await identity.create_user(db, account_id=account, email=f"{uuid.uuid4().hex[:8]}@d.example",
                                            full_name="D", role="driver", password_hash=None)
        for n in range(4):
            made = await routes.create_route(db, account_id=account, number=f"B-{n}", name=f"B{n}",
                                             on=DAYS[n % 2], stops=[stop(k) for k in range(n)])
            if n % 2:
                made = await routes.assign_route(db, account_id=account, route_id=made.id, driver_id=driver.id,
                                                 vehicle_id=None)
            route_ids.append(made.id)
        callers += [(account, None), (account, driver.id)]
    rng = random.Random(7)
    statuses = ("PLANNED", "ASSIGNED")
    for round_ in range(6):  # which filters are bound decides the shape: the same for every caller of a round
        after, status, on = round_ & 1, round_ & 2, round_ & 4
        pages = [planned(PAGE, first=rng.choice([1, 2, 3, 10]),
                         after=encode_cursor(rng.choice(route_ids)) if after else None,
                         status=rng.choice(statuses) if status else None,
                         date=str(rng.choice(DAYS)) if on else None)
                 for _ in callers]
        by_id = [planned(BY_ID, id=encode("Route", rng.choice(route_ids))) for _ in callers]
        for found in (pages, by_id):
            jobs = [(p, a, d) for p, (a, d) in zip(found, callers, strict=True)]
            expected = [await alone(db, p, a, d) for p, a, d in jobs]
            batches.clear()
            together = await asyncio.gather(*(read(db, account_id=a, driver_id=d, roots=p.roots, params=p.params)
                                              for p, a, d in jobs))
            assert together == expected
            assert sorted(batches) == [len(jobs) // 2] * 2  # one statement per shape (driver scope or not)


def test_every_compiled_shape_has_a_statement_for_many() -> None:
    shapes: tuple[tuple[str, dict[str, Any]], ...] = (
        (PAGE, {"first": 2, "after": encode_cursor(1), "status": "PLANNED", "date": "2034-01-01"}),
              (BY_ID, {"id": encode("Route", 1)}), ('{ vehicles(status: "x") { edges { cursor } } }', {}))
    for query, variables in shapes:
        found = planned(query, **variables)
        for scoped in (False, True):
            many = prepared_many(found.roots, scoped)
            assert many is not None and len(many.params) == len(prepared(found.roots, scoped).params)

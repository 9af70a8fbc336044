"""The reads a request makes start from their leads by index: none scans every node of a label (FalkorDB's
planner may pick either end of a pattern; REFERRERS once scanned every lead in the graph for each id)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from datasources.graph import cypher, open_graph
from datasources.graph.falkordb import FalkorDBGraph

ANCHORED = {
    "REFERRERS": cypher.REFERRERS, "COLLEAGUES": cypher.COLLEAGUES, "CALLS_OF": cypher.CALLS_OF,
    "INTRODUCTION_STEP": cypher.INTRODUCTION_STEP, "PROJECTED_LEADS": cypher.PROJECTED_LEADS,
    "NEIGHBOURS": cypher.NEIGHBOURS, "LEAD_EXISTS": cypher.LEAD_EXISTS,
    **{f"REFERRALS[{depth}]": text for depth, text in cypher.REFERRALS.items()},
}
SCANS = ("Node By Label Scan", "All Node Scan")


@pytest.fixture
async def store(falkordb_url: str) -> AsyncIterator[FalkorDBGraph]:
    graph = open_graph(falkordb_url, database=f"plans_{uuid.uuid4().hex[:8]}")
    assert isinstance(graph, FalkorDBGraph)
    await graph.ensure_schema()  # the indexes the app's migrations make
    await graph.upsert_leads(account_id=1, leads=[("a", "Acme", "u1"), ("b", "Acme", None)])
    try:
        yield graph
    finally:
        await graph.close()


@pytest.mark.parametrize("name", sorted(ANCHORED))
async def test_a_request_read_starts_from_an_index(store: FalkorDBGraph, name: str) -> None:
    params = {"account_id": 1, "lead_ids": ["a", "b"], "lead_id": "a"}
    graph = await store._select()
    client = Redis(connection_pool=store._pool)
    plan = await client.execute_command("GRAPH.EXPLAIN", graph.name,
                                        graph._build_params_header(params) + ANCHORED[name])
    steps = [str(step) for step in plan]
    assert not [step for step in steps if step.strip().startswith(SCANS)], "\n".join(steps)
    assert any("Index Scan" in step for step in steps), "\n".join(steps)

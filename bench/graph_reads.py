"""FalkorDB's pipelining, tried: a request's graph reads of one turn as one pipeline, against the store's way (each
read its own round trip on a pooled connection, the reads of a turn in parallel).

    .venv/bin/python bench/graph_reads.py [--leads 2000] [--rounds 5] [--requests 400] [--concurrency 8]

Starts an embedded FalkorDB (no persistence) and fills one tenant's graph through the store (`--leads` leads in
companies of 20, two in three referred by the lead before them). A "request" is what a page of 20 leads asking for
`referredBy`, `colleagues` and `referrals(depth: 2)` sends to the graph: those three batch reads in one turn.
`--concurrency` requests run at once, `--requests` in all, in rounds alternating two ways of sending them:
- pipelined: the reads of a turn gathered (datasources/coalesce.py) and sent as one redis-py pipeline of
  GRAPH.RO_QUERY commands, each reply parsed by falkordb's `QueryResult` (`Pipelined` below);
- one by one: the store's own `FalkorDBGraph`, a connection and a round trip each.
Prints the median of the rounds: requests per second, p50 of a request, and this process's CPU time per
request; and the ratios. Both ways answer the same rows (checked first).

Measured 2026-11-30 (2 cores, load average about 2): at 8 requests at once, pipelined 0.47x the requests per
second, 1.89x the p50 and 1.56x the client's CPU per request; one at a time, 0.91x, 1.08x and 0.92x. It does not
pay, so the store does not pipeline: FalkorDB answers one connection's commands one after another, while reads on
separate connections run on its pool of threads side by side, and redis-py's pipeline costs more client CPU than
the two round trips it saves. (Redis' budget scripts do pipeline, datasources/redis/pipelined.py: dozens of them
share a turn under load, each a few microseconds on the server.)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from falkordb.asyncio.query_result import QueryResult
from stack import ROOT  # noqa: F401 - puts the checkout on sys.path

from datasources.coalesce import Coalescer, settled
from datasources.graph import open_graph
from datasources.graph.falkordb import FalkorDBGraph
from datasources.graph.store import Row
from ops.embedded.redis import start_redis

ACCOUNT = 7


class Pipelined(FalkorDBGraph):
    """The store with its reads of one turn sent as one pipeline; a read the pipeline did not answer cleanly is
    made again alone (a read is safe to repeat)."""

    def __init__(self, url: str, *, graph: str) -> None:
        super().__init__(url, graph=graph)
        self._reads = Coalescer[tuple[str, dict[str, Any]]](self._send_reads)

    async def _read(self, query: str, params: Mapping[str, Any]) -> list[Row]:
        rows: list[Row] = await self._reads.call(None, (query, dict(params)))
        return rows

    async def _send_reads(self, _: Any, reads: list[tuple[str, dict[str, Any]]]) -> list[Any]:
        if len(reads) == 1:
            return [await settled(super()._read(*reads[0]))]
        graph = await self._select()
        assert self._client is not None
        async with self._client.connection.pipeline(transaction=False) as pipe:
            for query, params in reads:  # as AsyncGraph.ro_query sends it
                pipe.execute_command("GRAPH.RO_QUERY", graph.name, graph._build_params_header(params) + query,
                                     "--compact")
            replies = await pipe.execute(raise_on_error=False)
        answers: list[Any] = []
        for (query, params), reply in zip(reads, replies, strict=True):
            result = QueryResult(graph)
            try:
                if isinstance(reply, Exception):
                    raise reply
                await result.parse(reply)
                answers.append(result.result_set)
            except Exception:
                answers.append(await settled(super()._read(query, params)))
        return answers


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    return parser.parse_args()


async def fill(store: FalkorDBGraph, leads: int) -> list[str]:
    ids = [f"lead{i:06d}" for i in range(leads)]
    await store.ensure_schema()  # the indexes the app's migrations make
    await store.upsert_leads(account_id=ACCOUNT, leads=[(lead, f"company{i // 20}", None)
                                                        for i, lead in enumerate(ids)])
    for before, lead in zip(ids, ids[1:], strict=False):
        if int(lead[4:]) % 3:  # two in three are referred by the lead before them
            await store.link_leads(account_id=ACCOUNT, from_id=before, to_id=lead)
    return ids


async def request(store: FalkorDBGraph, page: list[str]) -> list[Any]:
    return list(await asyncio.gather(
        store.referrers(account_id=ACCOUNT, lead_ids=page),
        store.colleagues(account_id=ACCOUNT, lead_ids=page),
        store.referrals(account_id=ACCOUNT, lead_ids=page, depth=2),
    ))


async def run(store: FalkorDBGraph, pages: list[list[str]], concurrency: int) -> tuple[float, float, float]:
    gate = asyncio.Semaphore(concurrency)
    times: list[float] = []

    async def one(page: list[str]) -> None:
        async with gate:
            began = time.perf_counter()
            await request(store, page)
            times.append(time.perf_counter() - began)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one(page) for page in pages))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(pages) / wall, statistics.median(times) * 1000, cpu * 1000 / len(pages)


async def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="graph-reads-") as folder:
        server = start_redis(Path(folder), persist=False)
        try:
            one_by_one = open_graph(server.extra["graph_url"], database="bench")
            assert isinstance(one_by_one, FalkorDBGraph)
            ids = await fill(one_by_one, args.leads)
            pages = [ids[(i * 20) % len(ids):(i * 20) % len(ids) + 20] for i in range(args.requests)]
            store = Pipelined(server.extra["graph_url"].replace("falkordb://", "redis://"), graph="bench")
            if await request(store, pages[1]) != await request(one_by_one, pages[1]):
                raise RuntimeError("the two ways answer different rows")
            ways = {"pipelined": store, "one by one": one_by_one}
            figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in ways}
            for r in range(args.rounds):
                for name in (list(ways) if r % 2 == 0 else list(ways)[::-1]):
                    figures[name].append(await run(ways[name], pages, args.concurrency))
            print(f"{args.requests} requests of 3 graph reads (20 leads each), {args.concurrency} at once, "
                  f"{args.rounds} alternating rounds, medians:")
            median = {n: [statistics.median(f[i] for f in fs) for i in range(3)] for n, fs in figures.items()}
            for name, (rps, p50, cpu) in median.items():
                print(f"  {name:<11} {rps:8.0f} requests/s   p50 {p50:6.2f} ms   client CPU {cpu:5.2f} ms a request")
            (a_rps, a_p50, a_cpu), (b_rps, b_p50, b_cpu) = median["pipelined"], median["one by one"]
            print(f"  pipelined / one by one: requests/s {a_rps / b_rps:.2f}x, p50 {a_p50 / b_p50:.2f}x, "
                  f"CPU {a_cpu / b_cpu:.2f}x")
            await store.close()
            await one_by_one.close()
        finally:
            server.stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

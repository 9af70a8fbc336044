"""A repeated tiny query with and without the parsed/validated document cache.

    .venv/bin/python bench/document_cache.py [--requests 400] [--rounds 5]

Two app processes over the same stores, one with DOCUMENT_CACHE_SIZE=0; requests alternate between them in
rounds so both see the same machine noise. Also times parse + validate alone, in process.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import httpx
from stack import app, signed_in, stores

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TINY = "query Tiny { account { name } }"
SHOW = """{ routes(first: 3) { edges { node { number driver { email } stops { sequence lead { fullName status
  referrals { fullName } similar(first: 2) { score lead { fullName } } } } } } } }"""


def latencies(client: httpx.Client, url: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.post(url, json={"query": TINY})
        out.append(time.perf_counter() - started)
        assert response.status_code == 200 and "errors" not in response.json()
    return out


def in_process(document: str, n: int = 300) -> tuple[float, float]:
    """Microseconds for parse + validate, then for the same through LRU caches as Strawberry's extensions do."""
    from functools import lru_cache

    from graphql import parse, validate

    from schema.root import build_schema

    schema = build_schema()._schema
    started = time.perf_counter()
    for _ in range(n):
        assert not validate(schema, parse(document))
    uncached = (time.perf_counter() - started) / n
    cached_parse = lru_cache(maxsize=16)(parse)
    cached_validate = lru_cache(maxsize=16)(lambda doc: tuple(validate(schema, doc)))
    started = time.perf_counter()
    for _ in range(n):
        assert not cached_validate(cached_parse(document))
    cached = (time.perf_counter() - started) / n
    return uncached * 1e6, cached * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    per_round = args.requests // args.rounds
    with stores() as env, app(env, "cache-on") as on, app(env, "cache-off", DOCUMENT_CACHE_SIZE="0") as off:
        with httpx.Client(timeout=60, headers=signed_in(on)) as client:
            latencies(client, on.graphql, 50)
            latencies(client, off.graphql, 50)
            cached: list[float] = []
            uncached: list[float] = []
            for _ in range(args.rounds):
                cached += latencies(client, on.graphql, per_round)
                uncached += latencies(client, off.graphql, per_round)
    med_on, med_off = statistics.median(cached) * 1000, statistics.median(uncached) * 1000
    print(f"tiny query over HTTP, {len(cached)} requests each, median: cache on {med_on:.3f} ms, "
          f"off {med_off:.3f} ms, off/on x{med_off / med_on:.2f}")
    for name, document in (("tiny", TINY), ("cross-store", SHOW)):
        raw, hit = in_process(document)
        print(f"parse+validate of the {name} document in process: {raw:.0f} us uncached, {hit:.1f} us cached")


if __name__ == "__main__":
    main()

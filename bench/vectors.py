"""Semantic search at scale (one collection per account against one shared collection filtered by account), and
the embedder's throughput.

    .venv/bin/python bench/vectors.py [--vectors 100000] [--accounts 10] [--queries 300] [--embedded]
                                      [--texts 512] [--rounds 3] [--only search|embedder]

Search: a fresh Chroma server (`chroma run`; `--embedded`: the in-process PersistentClient) gets `--vectors`
random unit vectors of dimension 384 spread evenly over `--accounts`, twice: through `VectorStore` into each
account's `leads_<id>` collection (the layout since Chroma migration 2), and into one shared collection with
`account_id` metadata (the layout before it). Each query is one account's top 10 for a random unit vector, asked
of both layouts back to back (and of the shared collection without the filter, which is fast but not
tenant-safe), so all three see the same noise; the figures are client-side round trips. The target is p95 <= 30 ms
per account-scoped query. "recall" is the share of the exact top 10 (numpy over the account's vectors) a layout
returned: HNSW is approximate, and random vectors in 384 dimensions, all about equally far apart, are its worst
case; embeddings of real texts cluster.

Embedder: texts/s over realistic lead texts (the demo data's `search_text` shape: name, company, industry,
tags, need, notes) for each engine the embedder has and a few batch sizes, the configurations interleaved in
`--rounds` rounds; the reported figure is each configuration's median round.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import numpy as np
from stack import DATA  # also puts the project on sys.path

from datasources.vectors import LeadText, MiniLMEmbedder, VectorStore, open_vectors
from datasources.vectors.embedder import Engine
from datasources.vectors.layout import COSINE
from ops.embedded.chroma import start_chroma

DIMENSION = 384
TOP = 10
INSERT_BATCH = 1000
SHARED = "bench_shared_leads"
STATUSES = ("new", "contacted", "qualified", "lost")


def unit_rows(n: int, rng: np.random.Generator) -> np.ndarray:
    rows = rng.standard_normal((n, DIMENSION)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    p50, p95, p99 = np.percentile(np.array(samples) * 1000, [50, 95, 99])
    return float(p50), float(p95), float(p99)


async def fill(
    store: VectorStore, shared: Any, *, vectors: int, accounts: int, rng: np.random.Generator
) -> dict[int, np.ndarray]:
    """The same vectors into both layouts, batches round-robin over the accounts as writes would arrive; returns
    each account's vectors in id order (`a<account>-<n>` is row n), for the exact answers."""
    per_account = vectors // accounts
    held: dict[int, list[np.ndarray]] = {account_id: [] for account_id in range(1, accounts + 1)}
    started = time.perf_counter()
    written = 0
    for start in range(0, per_account, INSERT_BATCH):
        for account_id in range(1, accounts + 1):
            n = min(INSERT_BATCH, per_account - start)
            embeddings = unit_rows(n, rng)
            held[account_id].append(embeddings)
            ids = [f"a{account_id}-{start + i}" for i in range(n)]
            items = [LeadText(i, f"lead {i}", STATUSES[k % len(STATUSES)], "web") for k, i in enumerate(ids)]
            await store.upsert_lead_vectors(account_id=account_id, items=items, embeddings=embeddings)
            await shared.upsert(ids=ids, embeddings=embeddings, documents=[item.text for item in items],
                                metadatas=[{"account_id": account_id, "status": item.status, "source": item.source}
                                           for item in items])
            written += n
        print(f"  {written * 2:>7} vectors written ({written} per layout), {time.perf_counter() - started:5.1f} s",
              end="\r", flush=True)
    print()
    return {account_id: np.concatenate(rows) for account_id, rows in held.items()}


def exact_top(vectors: np.ndarray, query: np.ndarray, account_id: int) -> set[str]:
    """The true top 10 by cosine (the rows are unit vectors): what an exact search would answer."""
    return {f"a{account_id}-{n}" for n in np.argsort(-(vectors @ query))[:TOP]}


async def timed[T](pending: Awaitable[T]) -> tuple[float, T]:
    """Seconds to await a coroutine (made, not started, by the caller: nothing runs before the clock starts)."""
    started = time.perf_counter()
    result = await pending
    return time.perf_counter() - started, result


async def search(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(12)
    DATA.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vectors-", dir=DATA) as folder:
        server = None if args.embedded else start_chroma(Path(folder) / "server")
        url = "" if server is None else server.url
        store = open_vectors(url, path=Path(folder) / "embedded", embedder=MiniLMEmbedder())
        try:
            client = await store.client()
            shared = await client.get_or_create_collection(SHARED, configuration=COSINE, embedding_function=None)
            print(f"search: {args.vectors} vectors over {args.accounts} accounts, "
                  f"{'embedded PersistentClient' if server is None else 'chroma run over HTTP'}")
            held = await fill(store, shared, vectors=args.vectors, accounts=args.accounts, rng=rng)

            async def per_account(account_id: int, vector: np.ndarray) -> list[str]:
                return [m.id for m in await store.nearest_leads(account_id=account_id, vector=vector, first=TOP)]

            async def filtered(account_id: int, vector: np.ndarray) -> list[str]:
                found = await shared.query(query_embeddings=vector[None, :], n_results=TOP,
                                           where={"account_id": account_id}, include=["distances"])
                return list(found["ids"][0])

            async def unfiltered(account_id: int, vector: np.ndarray) -> list[str]:
                found = await shared.query(query_embeddings=vector[None, :], n_results=TOP, include=["distances"])
                return list(found["ids"][0])

            layouts = {"per-account collection": per_account, "shared + account filter": filtered,
                       "shared, no filter (not tenant-safe)": unfiltered}
            samples: dict[str, list[float]] = {name: [] for name in layouts}
            recall: dict[str, list[float]] = {name: [] for name in layouts}
            for n in range(args.queries + 20):  # the first 20 warm the handles and caches up, not counted
                account_id = int(rng.integers(1, args.accounts + 1))
                vector = unit_rows(1, rng)[0]
                names = list(layouts)
                names = names[n % 3:] + names[: n % 3]  # who goes first rotates
                answers = {}
                for name in names:
                    seconds, answers[name] = await timed(layouts[name](account_id, vector))
                    if n >= 20:
                        samples[name].append(seconds)
                if n >= 20:
                    exact = exact_top(held[account_id], vector, account_id)
                    for name, found in answers.items():
                        recall[name].append(len(exact & set(found)) / TOP)
                    scoped = answers["per-account collection"] + answers["shared + account filter"]
                    assert all(i.startswith(f"a{account_id}-") for i in scoped)
            print(f"\ntop-{TOP} query, {args.queries} queries each, interleaved; recall: share of the exact top {TOP}")
            print(f"{'layout':38} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'recall':>7}")
            table = {name: percentiles(found) for name, found in samples.items()}
            for name, (p50, p95, p99) in table.items():
                print(f"{name:38} {p50:8.2f} {p95:8.2f} {p99:8.2f} {statistics.mean(recall[name]):7.3f}")
            new, old = table["per-account collection"], table["shared + account filter"]
            print(f"shared+filter / per-account: p50 x{old[0] / new[0]:.1f}, p95 x{old[1] / new[1]:.1f}, "
                  f"p99 x{old[2] / new[2]:.1f}; target p95 <= 30 ms: {'met' if new[1] <= 30 else 'MISSED'}")
        finally:
            await store.close()
            if server is not None:
                server.stop()


def lead_texts(n: int) -> list[str]:
    """Texts shaped as `LeadRecord.search_text` makes them, from the demo data's generator."""
    from ops.demo_data import demo_account

    def text(lead: Any) -> str:
        company = lead.company
        role = " at ".join(p for p in (company["title"], company["name"]) if p)
        parts = [f"{lead.first_name} {lead.last_name}", role, f"industry: {company['industry']}"]
        if lead.tags:
            parts.append("tags: " + ", ".join(lead.tags))
        parts.append(f"need: {lead.qualification['need']}")
        return ". ".join(parts + lead.notes[-5:])

    return [text(lead) for lead in demo_account("Bench", "bench", leads=n, routes=0, seed=5).leads]


def embedder(args: argparse.Namespace) -> None:
    texts = lead_texts(args.texts)
    configurations: dict[tuple[Engine, int], str] = {("numpy", 32): "numpy, batches of 32 (before)"}
    configurations |= {("onnx", size): f"onnxruntime, batches of {size}" for size in (8, 16, 32, 64)}
    engines = {key: MiniLMEmbedder(engine=key[0], batch_size=key[1]) for key in configurations}
    for engine in engines.values():
        engine.embed(texts[:64])  # loads the weights and warms the session up
    tokens = [len(e.ids) for e in engines["numpy", 32]._loaded().tokenizer.encode_batch(texts)]
    print(f"\nembedder: {len(texts)} lead texts, {statistics.mean(tokens):.0f} tokens on average "
          f"(max {max(tokens)}), {args.rounds} interleaved rounds")
    rates: dict[tuple[Engine, int], list[float]] = {key: [] for key in configurations}
    ceiling = []
    for _ in range(args.rounds):
        for key, engine in engines.items():
            started = time.perf_counter()
            engine.embed(texts)
            rates[key].append(len(texts) / (time.perf_counter() - started))
        ceiling.append(sgemm_gflops())
    before = statistics.median(rates["numpy", 32])
    flops_per_text = statistics.mean(tokens) * FLOPS_PER_TOKEN
    print(f"{'configuration':34} {'texts/s':>8} {'x before':>9} {'GFLOP/s':>8}")
    for key, name in configurations.items():
        rate = statistics.median(rates[key])
        print(f"{name:34} {rate:8.1f} {rate / before:9.2f} {rate * flops_per_text / 1e9:8.1f}")
    peak = statistics.median(ceiling)
    print(f"{'numpy sgemm of one layer, alone':34} {peak * 1e9 / flops_per_text:8.1f} {'':9} {peak:8.1f}")
    print(f"(the encoder's matmuls are {FLOPS_PER_TOKEN / 1e6:.1f} MFLOP per token: at these texts' length 500 "
          f"texts/s takes {500 * flops_per_text / 1e9:.0f} GFLOP/s)")


# multiply-adds of one token through the six layers: query, key, value, output, feed-forward up and down
FLOPS_PER_TOKEN = 2 * 6 * (3 * 384 * 384 + 384 * 384 + 2 * 384 * 1536)


def sgemm_gflops() -> float:
    """What this machine's float32 matmul reaches right now (on a shared machine, it moves): one feed-forward
    matmul of a batch of 32 texts of 57 tokens, the embedder's biggest kind, timed alone."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((32 * 57, 384), dtype=np.float32)
    b = rng.standard_normal((384, 1536), dtype=np.float32)
    a @ b
    started, n = time.perf_counter(), 20
    for _ in range(n):
        a @ b
    return n * 2 * a.shape[0] * a.shape[1] * b.shape[1] / (time.perf_counter() - started) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--embedded", action="store_true", help="the in-process PersistentClient, not a server")
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("search", "embedder"))
    args = parser.parse_args()
    if args.only != "embedder":
        asyncio.run(search(args))
    if args.only != "search":
        embedder(args)


if __name__ == "__main__":
    main()

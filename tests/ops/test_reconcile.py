"""`switchboard reconcile`: drift made on purpose in real stores is reported exactly, repaired, and gone after.

Each run has stores of its own (a fresh PostgreSQL database, MongoDB database, graph and Chroma folder), so
the suite's demo accounts are never read or touched; `--account` is given anyway, as an operator would.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from datasources import signals
from datasources.mongo import leads as mongo_leads
from datasources.mongo import projection as mongo_projection
from datasources.postgres import accounts as pg_accounts
from datasources.stores import Stores
from datasources.vectors import LeadText
from ops import migrate
from ops import reconcile as reconcile_ops
from ops.embedded.redis import kick_bolt, start_redis
from ops.metrics import Metrics
from ops.settings import Settings
from ops.stores import open_all
from resolvers.leads.drift import Kind, Store
from resolvers.leads.propagate import lead_text
from tests.servers import ROOT, postgres_database, start_app

LINE = re.compile(
    r"^(?P<slug>\S+) (?P<store>chroma|graph) missing (\d+)  stale (\d+)  orphaned (\d+)(?:  \| (?P<ids>.*))?$"
)
ORPHAN_CHROMA = "orphan-vector-0001"
ORPHAN_GRAPH = "orphan-node-0001"


def fresh_env(store_env: dict[str, str], pg: str, tmp_path: Path, graph_url: str) -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {**store_env, "POSTGRES_URL": pg, "SWITCHBOARD_DATA_DIR": str(tmp_path / "app"),
            "MONGODB_DATABASE": f"reconcile_{tag}", "NEO4J_URI": graph_url, "NEO4J_DATABASE": f"reconcile_{tag}",
            "SEED_DEMO": "0"}


@pytest.fixture
def env(tmp_path: Path, store_env: dict[str, str], postgres_admin: str) -> Iterator[dict[str, str]]:
    with postgres_database(postgres_admin) as pg:
        yield fresh_env(store_env, pg, tmp_path, store_env["NEO4J_URI"])


@pytest.fixture
def bolt_env(tmp_path: Path, store_env: dict[str, str], postgres_admin: str) -> Iterator[dict[str, str]]:
    """The graph through the Neo4j driver, on FalkorDB's Bolt port. That port may withhold the handshake from
    a new client until a plain connect-and-close, so this one is used in-process, after a kick, not by a CLI."""
    server = start_redis(tmp_path / "bolt", persist=False, bolt=True)
    try:
        kick_bolt(urlsplit(server.extra["bolt_url"]).port or 7687)
        with postgres_database(postgres_admin) as pg:
            yield fresh_env(store_env, pg, tmp_path, server.extra["bolt_url"])
    finally:
        server.stop()


type Made = dict[tuple[Store, Kind], set[str]]


async def make_drift(env: dict[str, str], slug: str, *, projected: bool = False) -> Made:
    async with AsyncExitStack() as exits:
        stores, _ = await open_all(Settings.model_validate(env), exits)
        return await drift_in(stores, slug, projected=projected)


async def drift_in(stores: Stores, slug: str, *, projected: bool = False) -> Made:
    """An account of five projected leads, then one drift of each kind the stores can have. `projected`: the
    leads' projection is marked done, so the drift is what only a reconcile sees (a running projector would
    otherwise repair the pending leads, racing the check)."""
    await migrate.upgrade(stores.db.engine)
    account_id = (await pg_accounts.create_account(stores.db, name="Reconcile", slug=slug)).id
    new = [mongo_leads.NewLead(first_name=f"Lead {i}", phone=f"+4930555000{i}", company={"name": f"Co {i}"},
                               notes=[f"note {i}"]) for i in range(5)]
    records = await mongo_leads.create_leads(account_id=account_id, data=new)
    await stores.vectors.upsert_leads(account_id=account_id, items=[lead_text(r) for r in records])
    await stores.graph.upsert_leads(account_id=account_id, leads=[(r.id, r.company.name, None) for r in records])
    if projected:
        await mongo_projection.mark_all_projected(records=records, at=datetime.now(UTC))

    # a crash after MongoDB: lead 0 never reached Chroma, nor lead 1 the graph
    await stores.vectors.delete_lead(account_id=account_id, lead_id=records[0].id)
    await stores.graph.delete_lead(account_id=account_id, lead_id=records[1].id)
    # older projections: lead 2's text, lead 3's company
    await stores.vectors.upsert_leads(account_id=account_id, items=[
        LeadText(lead_id=records[2].id, text="an older text", status="new", source="web")])
    await stores.graph.upsert_lead(account_id=account_id, lead_id=records[3].id, company="Elsewhere Ltd",
                                   owner_id="42")
    # leftovers of leads MongoDB does not hold
    await stores.vectors.upsert_leads(account_id=account_id, items=[LeadText(lead_id=ORPHAN_CHROMA, text="gone")])
    await stores.graph.upsert_lead(account_id=account_id, lead_id=ORPHAN_GRAPH, company=None, owner_id=None)
    return {
        (Store.chroma, Kind.missing): {records[0].id}, (Store.chroma, Kind.stale): {records[2].id},
        (Store.chroma, Kind.orphaned): {ORPHAN_CHROMA},
        (Store.graph, Kind.missing): {records[1].id}, (Store.graph, Kind.stale): {records[3].id},
        (Store.graph, Kind.orphaned): {ORPHAN_GRAPH},
    }


def reconcile(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", "reconcile", *args], env={**os.environ, **env}, cwd=ROOT,
        capture_output=True, text=True, timeout=120,
    )


def reported(stdout: str, slug: str) -> dict[tuple[Store, Kind], set[str]]:
    found: dict[tuple[Store, Kind], set[str]] = {(s, k): set() for s in Store for k in Kind}
    for line in stdout.splitlines():
        match = LINE.match(line)
        if not match or match["slug"] != slug:
            continue
        store = Store(match["store"])
        counts = dict(zip(Kind, map(int, match.groups()[2:5]), strict=True))
        for part in (match["ids"] or "").split("; "):
            if part:
                kind, ids = part.split(": ", 1)
                found[(store, Kind(kind))] = set(ids.split())
        assert {k: len(found[(store, k)]) for k in Kind} == counts, line
    return found


def test_reconcile_reports_the_drift_repairs_it_and_then_finds_none(env: dict[str, str]) -> None:
    slug = f"reconcile-{uuid.uuid4().hex[:6]}"
    made = asyncio.run(make_drift(env, slug))

    check = reconcile(env, "--account", slug)
    assert check.returncode == 1, check.stdout + check.stderr
    assert reported(check.stdout, slug) == made
    assert "drift remains" in check.stdout

    repair = reconcile(env, "--account", slug, "--repair")
    assert repair.returncode == 0, repair.stdout + repair.stderr
    assert "repaired 6/6" in repair.stderr  # not a terminal: plain progress lines
    assert "no drift" in repair.stdout

    again = reconcile(env, "--account", slug)
    assert again.returncode == 0, again.stdout + again.stderr
    assert all(not ids for ids in reported(again.stdout, slug).values())

    unknown = reconcile(env, "--account", "no-such-account")
    assert unknown.returncode == 2
    assert "no account with slug 'no-such-account'" in unknown.stderr


def test_the_same_check_and_repair_through_the_neo4j_driver(bolt_env: dict[str, str]) -> None:
    async def run() -> None:
        async with AsyncExitStack() as exits:
            stores, _ = await open_all(Settings.model_validate(bolt_env), exits)
            made = await drift_in(stores, "bolt")
            (account,) = await reconcile_ops.accounts(stores.db, slug="bolt")
            drift = await reconcile_ops.check_account(stores, account.id, page=2)  # several pages of each store
            assert {key: set(drift.of(key[0]).ids(key[1])) for key in made} == made

            # the server's schedule: a check at once (of every account: this database has only this one)
            seen: asyncio.Queue[reconcile_ops.Counts] = asyncio.Queue()

            def receive(_: object, counts: reconcile_ops.Counts) -> None:
                seen.put_nowait(counts)

            signals.projection_drift.connect(receive)
            stop = reconcile_ops.schedule(stores, every=timedelta(hours=1))
            try:
                counts = await asyncio.wait_for(seen.get(), 30)
            finally:
                await stop()
                signals.projection_drift.disconnect(receive)
            assert dict(counts) == {key: 1 for key in made}

            done: list[int] = []
            await reconcile_ops.repair_account(stores, account.id, drift, advance=done.append)
            assert sum(done) == 6
            assert not await reconcile_ops.check_account(stores, account.id, page=2)
            # the repaired leads leave the projector's queue (the others were never projected by it here)
            repaired = {i for key, ids in made.items() if key[1] is not Kind.orphaned for i in ids}
            after = await mongo_leads.leads_by_ids(account_id=account.id, ids=sorted(repaired))
            assert [r.sync_pending for r in after if r is not None] == [False] * len(repaired)

    asyncio.run(run())


def test_the_server_checks_on_its_schedule_and_exports_the_drift(env: dict[str, str], tmp_path: Path) -> None:
    slug = f"scheduled-{uuid.uuid4().hex[:6]}"
    made = asyncio.run(make_drift(env, slug, projected=True))
    app = start_app({**env, "RECONCILE_INTERVAL": "1h"}, tmp_path / "app.log")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            text = httpx.get(f"{app.url}/metrics", timeout=5).text
            if "switchboard_projection_drift{" in text:
                break
            time.sleep(0.3)
    finally:
        app.stop()
    for store, kind in made:
        assert f'switchboard_projection_drift{{kind="{kind}",store="{store}"}} 1.0' in text, text


def test_the_gauge_shows_the_last_check() -> None:
    metrics = Metrics()
    try:
        counts = {(s, k): 3 if (s, k) == (Store.graph, Kind.stale) else 0 for s in Store for k in Kind}
        signals.projection_drift.send(None, counts=counts)
        value = metrics.registry.get_sample_value("switchboard_projection_drift", {"store": "graph", "kind": "stale"})
        assert value == 3
        assert metrics.registry.get_sample_value("switchboard_projection_drift",
                                                 {"store": "chroma", "kind": "missing"}) == 0
    finally:
        metrics.close()

"""Reconciliation: finds where Chroma and the graph drifted from MongoDB, per account, and repairs it.

A crash between a lead's MongoDB write and its projections leaves drift that nothing else corrects. The check
reads in pages (MongoDB and the graph by id, Chroma by offset), so a large account never loads at once; the
comparison itself is `resolvers.leads.drift`. The server runs the check on `RECONCILE_INTERVAL` and reports
the last totals to its observers (the Prometheus gauge); `switchboard reconcile --repair` repairs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from datetime import timedelta

from datasources import signals
from datasources.mongo import leads as mongo_leads
from datasources.mongo import projection
from datasources.mongo.documents import utcnow
from datasources.mongo.records import LeadRecord
from datasources.postgres import Database
from datasources.postgres import accounts as postgres_accounts
from datasources.postgres.records import AccountRecord
from datasources.stores import Stores
from resolvers.leads.drift import Drift, Kind, Store, StoreDrift, orphans, projection_drift
from resolvers.leads.propagate import lead_text

log = logging.getLogger(__name__)

PAGE = 500
type Counts = Mapping[tuple[Store, Kind], int]


async def accounts(db: Database, *, slug: str | None = None) -> list[AccountRecord]:
    return await postgres_accounts.list_accounts(db, slug=slug)


async def _recorded(account_id: int, lead_ids: Sequence[str]) -> list[str]:
    found = await mongo_leads.leads_by_ids(account_id=account_id, ids=lead_ids)
    return [record.id for record in found if record is not None]


async def check_account(stores: Stores, account_id: int, *, page: int = PAGE) -> Drift:
    drift = Drift()
    after = ""
    while records := await mongo_leads.lead_records_page(account_id=account_id, limit=page, after=after):
        ids = [record.id for record in records]
        vectors = await stores.vectors.lead_texts(account_id=account_id, lead_ids=ids)
        nodes = await stores.graph.projected_leads(account_id=account_id, lead_ids=ids)
        drift += projection_drift(records, vectors, nodes)
        after = ids[-1]
    chroma_orphans: list[str] = []
    offset = 0
    while held := await stores.vectors.lead_ids_page(account_id=account_id, limit=page, offset=offset):
        chroma_orphans += orphans(held, await _recorded(account_id, held))
        offset += len(held)
    graph_orphans: list[str] = []
    after = ""
    while held := await stores.graph.lead_ids_page(account_id=account_id, limit=page, after=after):
        graph_orphans += orphans(held, await _recorded(account_id, held))
        after = held[-1]
    return drift + Drift(
        chroma=StoreDrift(orphaned=tuple(sorted(chroma_orphans))), graph=StoreDrift(orphaned=tuple(graph_orphans))
    )


def to_repair(drift: Drift) -> int:
    return sum(count for count in drift.counts().values())


async def repair_account(
    stores: Stores, account_id: int, drift: Drift, *, advance: Callable[[int], None], page: int = 100
) -> None:
    """Upserts the missing and stale leads from their MongoDB record and deletes the orphans; idempotent.

    A repaired lead is projected, so it leaves the projector's queue and dead letter too (unless written since).
    """
    repaired: dict[str, LeadRecord] = {}
    for store in Store:
        found = drift.of(store)
        fix = [*found.missing, *found.stale]
        for start in range(0, len(fix), page):
            chunk = fix[start : start + page]
            records = [r for r in await mongo_leads.leads_by_ids(account_id=account_id, ids=chunk) if r is not None]
            repaired.update((r.id, r) for r in records)
            if store is Store.chroma:
                await stores.vectors.upsert_leads(account_id=account_id, items=[lead_text(r) for r in records])
            else:
                rows = [
                    (r.id, r.company.name, str(r.owner_id) if r.owner_id is not None else None) for r in records
                ]
                await stores.graph.upsert_leads(account_id=account_id, leads=rows)
            advance(len(chunk))
        for lead_id in found.orphaned:
            if store is Store.chroma:
                await stores.vectors.delete_lead(account_id=account_id, lead_id=lead_id)
            else:
                await stores.graph.delete_lead(account_id=account_id, lead_id=lead_id)
            advance(1)
    done = list(repaired.values())
    for start in range(0, len(done), page):
        await projection.mark_all_projected(records=done[start : start + page], at=utcnow())


async def check_all(stores: Stores) -> Drift:
    total = Drift()
    for account in await accounts(stores.db):
        total += await check_account(stores, account.id)
    return total


def schedule(stores: Stores, *, every: timedelta) -> Callable[[], Awaitable[None]]:
    """Checks every account now and then every `every`, sending `projection-drift`; returns what stops it."""

    async def run() -> None:
        while True:
            try:
                counts = (await check_all(stores)).counts()
            except Exception:
                log.exception("reconciliation check failed")
            else:
                if any(counts.values()):
                    log.warning("projection drift: %s", {f"{s}.{k}": n for (s, k), n in counts.items() if n})
                signals.projection_drift.send(None, counts=counts)
            await asyncio.sleep(every.total_seconds())

    task = asyncio.create_task(run(), name="reconcile")

    async def stop() -> None:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task

    return stop

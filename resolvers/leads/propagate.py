"""Projects one lead from its MongoDB record into Chroma and the graph, under the projector's lease.

Both upserts are idempotent and carry the whole projected state, so projecting a version twice is harmless;
the lead is marked done only if MongoDB still holds the version projected (newest wins).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from enum import StrEnum
from uuid import uuid4

from datasources.mongo import leads as store
from datasources.mongo import projection as state
from datasources.mongo.documents import utcnow
from datasources.mongo.records import LeadRecord
from datasources.stores import Stores
from datasources.vectors import LeadText
from resolvers.leads.projector import LEASE, Projection, after_failure

log = logging.getLogger(__name__)


def lead_text(record: LeadRecord) -> LeadText:
    return LeadText(lead_id=record.id, text=record.search_text(), status=record.status, source=record.source)


def _owner(record: LeadRecord) -> str | None:
    return str(record.owner_id) if record.owner_id is not None else None


async def write_projections(stores: Stores, record: LeadRecord) -> None:
    await stores.vectors.upsert_leads(account_id=record.account_id, items=[lead_text(record)])
    await stores.graph.upsert_lead(
        account_id=record.account_id, lead_id=record.id, company=record.company.name, owner_id=_owner(record)
    )


class Outcome(StrEnum):
    DONE = "done"
    MOVED = "moved"  # a newer version was written meanwhile: still pending, to be projected again
    FAILED = "failed"


async def project_claimed(
    stores: Stores, record: LeadRecord, attempts: int, *, owner: str, max_attempts: int
) -> Outcome:
    """Projects a lead this owner has claimed (`attempts`: the failures so far) and gives the lease back."""
    try:
        await write_projections(stores, record)
    except (Exception, asyncio.CancelledError) as exc:
        await _failed(record, attempts, owner=owner, max_attempts=max_attempts, error=exc)
        if isinstance(exc, asyncio.CancelledError):
            raise
        return Outcome.FAILED
    done = await state.mark_projected(lead_id=record.id, version=record.version, owner=owner, at=utcnow())
    return Outcome.DONE if done else Outcome.MOVED


async def _failed(record: LeadRecord, attempts: int, *, owner: str, max_attempts: int, error: BaseException) -> None:
    now: datetime = utcnow()
    retry = after_failure(attempts, max_attempts=max_attempts, now=now)
    message = repr(error) if not isinstance(error, asyncio.CancelledError) else "timed out"
    (log.error if retry.failed else log.warning)(
        "projection of lead %s v%d failed (attempt %d%s): %s", record.id, record.version, retry.attempts,
        ", dead-lettered" if retry.failed else "", message,
    )
    # the record of the failure must land even when the projection was cut short (a timeout, a cancel)
    await asyncio.shield(state.record_failure(
        lead_id=record.id, version=record.version, owner=owner, attempts=retry.attempts, error=message,
        next_attempt_at=retry.next_attempt_at, failed=retry.failed,
    ))


async def _project_now(stores: Stores, account_id: int, lead_id: str, config: Projection) -> None:
    owner = f"inline-{uuid4().hex}"
    while True:
        claimed = await state.claim_lead(account_id=account_id, lead_id=lead_id, owner=owner, now=utcnow(), lease=LEASE)
        if claimed is not None:
            outcome = await project_claimed(stores, *claimed, owner=owner, max_attempts=config.max_attempts)
            if outcome is not Outcome.MOVED:
                return
            continue
        [current] = await store.leads_by_ids(account_id=account_id, ids=[lead_id])
        if current is None or not current.sync_pending or current.sync_failed:
            return
        await asyncio.sleep(0.05)  # another projector holds it, or it waits for its retry


async def settle(stores: Stores, record: LeadRecord, config: Projection) -> LeadRecord:
    """MongoDB holds `record`: wait up to `config.wait` for its projection, and return it as it now stands.

    A failure or timeout here fails nothing: the lead stays pending and the background projector carries it.
    """
    try:
        async with asyncio.timeout(config.wait):
            await _project_now(stores, record.account_id, record.id, config)
    except TimeoutError:
        log.info("lead %s still projecting after %.1f s; left to the projector", record.id, config.wait)
    except Exception:
        log.exception("inline projection of lead %s failed; left to the projector", record.id)
    try:
        [current] = await store.leads_by_ids(account_id=record.account_id, ids=[record.id])
    except Exception:
        current = None
    current = current or record
    if current.sync_pending and config.wakeup is not None:
        config.wakeup.set()
    return current

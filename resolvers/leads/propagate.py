"""Keeps a lead's copies in Chroma and the graph in step with MongoDB, all or nothing.

MongoDB is written first by the caller; this indexes the new version in Chroma, then upserts the graph
node. If either refuses, what this already did is undone and the failure returned, so the caller can undo
MongoDB too and no store is left holding half of the change.
"""

from __future__ import annotations

import logging

from datasources.mongo.records import LeadRecord
from datasources.stores import Stores
from datasources.vectors import LeadText
from resolvers.results import Failure

log = logging.getLogger(__name__)


def lead_text(record: LeadRecord) -> LeadText:
    return LeadText(lead_id=record.id, text=record.search_text(), status=record.status, source=record.source)


def _owner(record: LeadRecord) -> str | None:
    return str(record.owner_id) if record.owner_id is not None else None


async def propagate(
    stores: Stores, account_id: int, record: LeadRecord, previous: LeadRecord | None
) -> Failure | None:
    """`account_id` is the caller's; a record of another account is a bug, refused before any write."""
    if record.account_id != account_id:
        raise ValueError(f"lead {record.id} is not in account {account_id}")
    try:
        await stores.vectors.upsert_leads(account_id=account_id, items=[lead_text(record)])
    except Exception as exc:
        log.warning("chroma refused lead %s: %r", record.id, exc)
        return Failure.unavailable("chroma", exc)
    try:
        await stores.graph.upsert_lead(
            account_id=account_id, lead_id=record.id, company=record.company.name, owner_id=_owner(record)
        )
    except Exception as exc:
        log.warning("graph refused lead %s: %r", record.id, exc)
        await _restore_vectors(stores, account_id, record, previous)
        return Failure.unavailable("neo4j", exc)
    return None


async def _restore_vectors(
    stores: Stores, account_id: int, record: LeadRecord, previous: LeadRecord | None
) -> None:
    try:
        if previous is None:
            await stores.vectors.delete_lead(account_id=account_id, lead_id=record.id)
        else:
            await stores.vectors.upsert_leads(account_id=account_id, items=[lead_text(previous)])
    except Exception:
        log.exception("could not undo the vector index of lead %s", record.id)

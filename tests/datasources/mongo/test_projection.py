"""The projector's state in MongoDB: one holder per lease, done only at the version projected, failures kept."""

from __future__ import annotations

import random
from datetime import timedelta

from datasources.mongo import Mongo, leads
from datasources.mongo import projection as state
from datasources.mongo.documents import utcnow
from tests.datasources.mongo.test_leads import mongo, new

__all__ = ["mongo"]
LEASE = timedelta(seconds=30)


async def test_a_lease_has_one_holder_and_a_newer_version_stays_pending(mongo: Mongo) -> None:
    a = random.randint(1, 2**40)
    lead = await leads.create_lead(account_id=a, data=new(7001))
    now = utcnow()
    claimed = await state.claim_lead(account_id=a, lead_id=lead.id, owner="one", now=now, lease=LEASE)
    assert claimed is not None and claimed[0].version == 1 and claimed[1] == 0
    assert await state.claim_lead(account_id=a, lead_id=lead.id, owner="two", now=now, lease=LEASE) is None
    assert await state.claim_lead(account_id=a + 1, lead_id=lead.id, owner="two", now=now + LEASE * 2,
                                  lease=LEASE) is None  # another tenant's lead, even once the lease is over

    await leads.update_lead(account_id=a, lead_id=lead.id, changes={"status": "lost"})  # version 2, meanwhile
    assert not await state.mark_projected(lead_id=lead.id, version=1, owner="one", at=now)
    [current] = await leads.leads_by_ids(account_id=a, ids=[lead.id])
    assert current is not None and current.sync_pending and current.version == 2

    again = await state.claim_lead(account_id=a, lead_id=lead.id, owner="two", now=now, lease=LEASE)
    assert again is not None and again[0].version == 2  # the lease was given back with the stale version
    assert await state.mark_projected(lead_id=lead.id, version=2, owner="two", at=now)
    [done] = await leads.leads_by_ids(account_id=a, ids=[lead.id])
    assert done is not None and not done.sync_pending and done.indexed_at is not None


async def test_a_failure_waits_for_its_retry_and_a_dead_letter_is_never_claimed(mongo: Mongo) -> None:
    a = random.randint(1, 2**40)
    lead = await leads.create_lead(account_id=a, data=new(7002))
    now = utcnow()
    assert await state.claim_lead(account_id=a, lead_id=lead.id, owner="one", now=now, lease=LEASE)
    await state.record_failure(lead_id=lead.id, version=1, owner="one", attempts=1, error="down",
                               next_attempt_at=now + timedelta(seconds=1), failed=False)
    assert await state.claim_lead(account_id=a, lead_id=lead.id, owner="one", now=now, lease=LEASE) is None
    later = now + timedelta(seconds=2)
    claimed = await state.claim_lead(account_id=a, lead_id=lead.id, owner="one", now=later, lease=LEASE)
    assert claimed is not None and claimed[1] == 1
    await state.record_failure(lead_id=lead.id, version=1, owner="one", attempts=2, error="down",
                               next_attempt_at=None, failed=True)
    far = now + timedelta(days=1)
    assert await state.claim_lead(account_id=a, lead_id=lead.id, owner="one", now=far, lease=LEASE) is None
    [dead] = await leads.leads_by_ids(account_id=a, ids=[lead.id])
    assert dead is not None and dead.sync_failed

    await leads.add_note(account_id=a, lead_id=lead.id, body="a new write", author_id=None)  # a fresh start
    claimed = await state.claim_lead(account_id=a, lead_id=lead.id, owner="one", now=now, lease=LEASE)
    assert claimed is not None and claimed[0].version == 2 and claimed[1] == 0 and not claimed[0].sync_failed

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from datasources import migrations as versioned
from datasources.mongo import Mongo, calls, open_mongo
from datasources.mongo import migrations as mongo_migrations
from datasources.mongo.calls import CallLogPosition, CallLogRecord
from datasources.mongo.documents import CallLog


@pytest.fixture(scope="session")
async def mongo(mongo_url: str) -> AsyncIterator[Mongo]:
    store = await open_mongo(mongo_url, database="switchboard_adapter_test")
    db = store.client[store.database]
    await versioned.up(mongo_migrations.migrations(db), mongo_migrations.MongoLedger(db))  # the indexes
    yield store
    await store.close()


T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


async def log(account_id: int, lead_id: str, call_id: str, started_at: datetime | None) -> None:
    await calls.upsert_call_log(
        account_id=account_id, call_id=call_id,
        fields={"lead_id": lead_id, "state": "completed", "started_at": started_at,
                "events": [{"type": "call.hangup", "call_id": call_id}]},
    )


def position(record: CallLogRecord) -> CallLogPosition:
    return CallLogPosition(record.started_at, record.call_id)


async def test_pages_a_leads_calls_newest_first_without_gap_or_duplicate(mongo: Mongo) -> None:
    account, other = random.randint(1, 2**40), random.randint(1, 2**40)
    lead, neighbour = "a" * 24, "b" * 24
    # pairs share a start time, so the call id has to break ties; one log has no start and sorts last
    starts = [T0 + timedelta(minutes=i // 2) for i in range(11)]
    ids = [f"call-{i:02d}" for i in range(11)]
    for call_id, started_at in random.sample(list(zip(ids, starts, strict=True)), k=11):
        await log(account, lead, call_id, started_at)
    await log(account, lead, "call-nostart", None)
    await log(account, neighbour, "call-neighbour", T0)
    await log(other, lead, "call-other-account", T0 + timedelta(days=1))
    expected = sorted(zip(starts, ids, strict=True), reverse=True)
    expected_ids = [call_id for _, call_id in expected] + ["call-nostart"]

    seen: list[str] = []
    after: CallLogPosition | None = None
    while True:
        [logs] = await calls.call_logs_of_leads(account_id=account, lead_ids=[lead], limit=4, after=after)
        assert all(x.events == () for x in logs), "events are not read for a page"
        seen += [x.call_id for x in logs[:3]]
        if len(logs) <= 3:
            break
        after = position(logs[2])
    assert seen == expected_ids

    stored = await CallLog.find_one({"account_id": account, "call_id": "call-00"})
    assert stored is not None and stored.events, "the log itself keeps its events"


async def test_one_query_limits_each_lead_in_key_order(mongo: Mongo) -> None:
    account = random.randint(1, 2**40)
    first, second, empty = "c" * 24, "d" * 24, "e" * 24
    for i in range(5):
        await log(account, first, f"first-{i}", T0 + timedelta(minutes=i))
        await log(account, second, f"second-{i}", T0 + timedelta(minutes=i))
    found = await calls.call_logs_of_leads(account_id=account, lead_ids=[second, empty, first], limit=2)
    assert [[x.call_id for x in logs] for logs in found] == [["second-4", "second-3"], [], ["first-4", "first-3"]]
    after = CallLogPosition(T0 + timedelta(minutes=3), "first-3")
    [rest] = await calls.call_logs_of_leads(account_id=account, lead_ids=[first], limit=10, after=after)
    assert [x.call_id for x in rest] == ["first-2", "first-1", "first-0"]

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import pytest

from datasources import migrations as versioned
from datasources.mongo import Mongo, leads, open_mongo
from datasources.mongo import migrations as mongo_migrations
from datasources.mongo.errors import Conflict
from datasources.mongo.leads import LeadFilter, LeadOrder, LeadPosition, NewLead


@pytest.fixture(scope="session")
async def mongo(mongo_url: str) -> AsyncIterator[Mongo]:
    store = await open_mongo(mongo_url, database="switchboard_adapter_test")
    db = store.client[store.database]
    await versioned.up(mongo_migrations.migrations(db), mongo_migrations.MongoLedger(db))  # the indexes
    yield store
    await store.close()


def new(i: int, **fields: object) -> NewLead:
    last_name = str(fields.pop("last_name", "Doe"))
    return NewLead(first_name=f"Lead{i}", last_name=last_name, phone=f"+1415555{i:04d}", score=i % 100, **fields)  # type: ignore[arg-type]


async def test_create_read_in_key_order_and_tenancy(mongo: Mongo) -> None:
    a, b = random.randint(1, 2**40), random.randint(1, 2**40)
    one = await leads.create_lead(account_id=a, data=new(1))
    two = await leads.create_lead(account_id=a, data=new(2))
    found = await leads.leads_by_ids(account_id=a, ids=[two.id, "not-an-id", "0" * 24, one.id])
    assert [x.id if x else None for x in found] == [two.id, None, None, one.id]
    assert await leads.leads_by_ids(account_id=b, ids=[one.id]) == [None]
    assert await leads.update_lead(account_id=b, lead_id=one.id, changes={"status": "lost"}) is None
    assert await leads.delete_lead(account_id=b, lead_id=one.id) is False


async def test_unique_phone_per_account(mongo: Mongo) -> None:
    a, b = random.randint(1, 2**40), random.randint(1, 2**40)
    await leads.create_lead(account_id=a, data=new(7))
    with pytest.raises(Conflict) as raised:
        await leads.create_lead(account_id=a, data=new(7))
    assert raised.value.field == "phone"
    assert (await leads.create_lead(account_id=b, data=new(7))).account_id == b


async def test_keyset_pages_cover_everything_once(mongo: Mongo) -> None:
    a = random.randint(1, 2**40)
    await leads.create_leads(account_id=a, data=[new(i) for i in range(23)])
    for order in LeadOrder:
        seen: list[str] = []
        position = None
        while True:
            page = await leads.list_leads(account_id=a, where=LeadFilter(), order=order, limit=5, after=position)
            seen += [r.id for r in page]
            if len(page) < 5:
                break
            last = page[-1]
            position = LeadPosition(getattr(last, order.field), last.id)
        assert len(seen) == len(set(seen)) == 23, order


async def test_filters_text_and_archive(mongo: Mongo) -> None:
    a = random.randint(1, 2**40)
    x = await leads.create_lead(account_id=a, data=new(1, last_name="Zebedee", tags=["ev"], status="qualified"))
    await leads.create_lead(account_id=a, data=new(2, last_name="Other", tags=["ev", "smb"]))
    by_name = LeadOrder.NAME_ASC
    found = await leads.list_leads(account_id=a, where=LeadFilter(text="zebedee"), order=by_name, limit=10)
    assert [r.id for r in found] == [x.id]
    tagged = await leads.list_leads(account_id=a, where=LeadFilter(tags=["ev", "smb"]), order=by_name, limit=9)
    assert [r.last_name for r in tagged] == ["Other"]
    assert await leads.count_leads(account_id=a, where=LeadFilter(statuses=["qualified"])) == 1
    after = await leads.update_lead(account_id=a, lead_id=x.id, changes={"archived_at": x.created_at})
    assert after is not None and after.archived_at is not None
    assert (x.version, x.sync_pending) == (1, True) and (after.version, after.sync_pending) == (2, True)
    assert await leads.count_leads(account_id=a, where=LeadFilter()) == 1
    await leads.update_lead(account_id=a, lead_id=x.id, changes={"archived_at": None})
    assert await leads.count_leads(account_id=a, where=LeadFilter()) == 2


async def test_an_update_that_changes_nothing_keeps_the_version(mongo: Mongo) -> None:
    a = random.randint(1, 2**40)
    x = await leads.create_lead(account_id=a, data=new(11))
    changed = await leads.update_lead(account_id=a, lead_id=x.id, changes={"status": "lost", "company.name": "Q"})
    assert changed is not None and changed.version == 2
    again = await leads.update_lead(account_id=a, lead_id=x.id, changes={"status": "lost", "company.name": "Q"})
    assert again == changed  # same version, same updated_at: nothing was written
    one_differs = await leads.update_lead(account_id=a, lead_id=x.id, changes={"status": "lost", "company.name": "R"})
    assert one_differs is not None and one_differs.version == 3 and one_differs.company.name == "R"
    assert await leads.update_lead(account_id=a + 1, lead_id=x.id, changes={"status": "lost"}) is None


async def test_unknown_scheme_names_the_setting() -> None:
    with pytest.raises(ValueError, match="MONGODB_URI: unsupported scheme 'http'"):
        await open_mongo("http://localhost", database="x")

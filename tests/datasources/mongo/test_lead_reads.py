"""Lead reads without Beanie: `lead_record_of` gives what validating the document would, and a read of some of a
record's fields (`leads_by_ids(fields=...)`) gives those fields as the whole read does."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from bson import ObjectId
from hypothesis import given, settings
from hypothesis import strategies as st

from datasources import migrations as versioned
from datasources.mongo import Mongo, leads, open_mongo
from datasources.mongo import migrations as mongo_migrations
from datasources.mongo.documents import Lead
from datasources.mongo.leads import RECORD_FIELDS, NewLead, lead_projection, lead_record, lead_record_of

texts = st.text(max_size=12)
maybe_texts = st.none() | texts
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
maybe_moments = st.none() | moments

companies = st.fixed_dictionaries({}, optional={k: maybe_texts for k in ("name", "title", "industry", "size",
                                                                          "website")})
qualifications = st.fixed_dictionaries({}, optional={
    "budget": maybe_texts, "authority": maybe_texts, "need": maybe_texts, "timeline": maybe_texts,
    "answers": st.dictionaries(texts, texts, max_size=3), "score": st.none() | st.integers(0, 100),
    "cls": st.none() | st.sampled_from(["hot", "warm", "cold"]), "via": st.none() | st.sampled_from(["ai", "dtmf"]),
    "confidence": st.dictionaries(texts, st.integers(0, 1) | st.floats(0, 1), max_size=3),
    "qualified_at": maybe_moments, "call_id": maybe_texts,
})
notes = st.lists(st.fixed_dictionaries({"id": texts, "body": texts, "created_at": moments},
                                       optional={"author_id": st.none() | st.integers(1, 2**40)}), max_size=3)
consents = st.fixed_dictionaries({}, optional={"call": st.booleans(), "sms": st.booleans(), "email": st.booleans(),
                                               "recorded_at": maybe_moments})
projections = st.fixed_dictionaries({}, optional={"pending": st.booleans(), "failed": st.booleans(),
                                                  "attempts": st.integers(0, 9), "last_error": maybe_texts})

# a stored lead: what our writes put in the collection, with any field the model defaults left out (older
# documents, writes made before a field existed)
documents = st.fixed_dictionaries(
    {"_id": st.builds(ObjectId), "account_id": st.integers(1, 2**40), "first_name": texts, "phone": texts,
     "created_at": moments, "updated_at": moments},
    optional={
        "last_name": texts, "email": maybe_texts, "company": companies,
        "source": st.sampled_from(["web", "referral", "cold_call", "event"]),
        "status": st.sampled_from(["new", "contacted", "qualified", "lost"]),
        "priority": st.sampled_from(["low", "medium", "high"]), "score": st.integers(0, 100),
        "qualification": qualifications, "tags": st.lists(texts, max_size=3), "notes": notes, "consent": consents,
        "do_not_call": st.booleans(), "timezone": texts, "owner_id": st.none() | st.integers(1, 2**40),
        "next_follow_up_at": maybe_moments, "last_contacted_at": maybe_moments,
        "contact_attempts": st.integers(0, 50), "archived_at": maybe_moments, "version": st.integers(0, 2**31),
        "projection": projections, "indexed_at": maybe_moments, "graph_synced_at": maybe_moments,
    },
)


@pytest.fixture(scope="session")
async def mongo(mongo_url: str) -> AsyncIterator[Mongo]:
    store = await open_mongo(mongo_url, database="switchboard_adapter_test")
    db = store.client[store.database]
    await versioned.up(mongo_migrations.migrations(db), mongo_migrations.MongoLedger(db))
    yield store
    await store.close()


@settings(max_examples=300, deadline=None)
@given(raw=documents)
def test_the_record_of_a_stored_document_is_the_validated_one(mongo: Mongo, raw: dict[str, Any]) -> None:
    # (Beanie validates only once its documents are bound: hence the store)
    assert lead_record_of(raw) == lead_record(Lead.model_validate(raw))


def test_a_projection_names_record_fields_only() -> None:
    assert lead_projection(["sync_pending", "first_name"]) == {"_id": 1, "projection.pending": 1, "first_name": 1}
    with pytest.raises(ValueError, match="full_name"):
        lead_projection(["full_name"])


async def test_a_read_of_some_fields_answers_them_as_the_whole_read(mongo: Mongo) -> None:
    a = random.randint(1, 2**40)
    data = NewLead(first_name="Ada", last_name="Byron", phone="+14155550199", email="ada@example.com",
                   company={"name": "Engines", "title": "CTO"}, tags=["ev", "smb"], consent={"call": True},
                   owner_id=7, qualification={"need": "fleet", "answers": {"q": "a"}}, notes=["first", "second"])
    made = await leads.create_lead(account_id=a, data=data)
    await leads.update_lead(account_id=a, lead_id=made.id, changes={"status": "qualified", "score": 71})
    await leads.add_note(account_id=a, lead_id=made.id, body="third", author_id=7)
    ids = [made.id, "0" * 24, "not-an-id"]
    [whole, *missing] = await leads.leads_by_ids(account_id=a, ids=ids)
    assert whole is not None and missing == [None, None]
    for name in sorted(RECORD_FIELDS):
        [part, *rest] = await leads.leads_by_ids(account_id=a, ids=ids, fields=[name])
        assert part is not None and rest == [None, None]
        assert (part.id, getattr(part, name)) == (whole.id, getattr(whole, name)), name
    rng = random.Random(a)
    for _ in range(10):
        names = rng.sample(sorted(RECORD_FIELDS), rng.randint(1, len(RECORD_FIELDS)))
        [part, *_] = await leads.leads_by_ids(account_id=a, ids=ids, fields=names)
        assert part is not None and all(getattr(part, n) == getattr(whole, n) for n in names), names
    # the tenant still applies to a partial read
    assert await leads.leads_by_ids(account_id=a + 1, ids=[made.id], fields=["status"]) == [None]

"""One contract, two backends: the embedded PersistentClient and a `chroma run` server over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from datasources.instrument import StoreStats, collecting
from datasources.vectors import LeadText, MiniLMEmbedder, VectorStore, open_vectors
from datasources.vectors.shared import names

LEADS = [
    LeadText("fleet", "Fleet telematics for our trucks: live GPS and fuel reports", "new", "website"),
    LeadText("gps", "Looking for truck GPS tracking across 40 delivery vans", "qualified", "referral"),
    LeadText("flowers", "Wedding flowers and table decorations for 120 guests", "new", "website"),
    LeadText("cakes", "Bakery wants a quote for birthday cakes and pastries", "lost", "cold_call"),
]


def ids(matches: list) -> list[str]:
    return [m.id for m in matches]


def prefixed(prefix: str) -> list[LeadText]:
    return [LeadText(f"{prefix}-{lead.lead_id}", lead.text, lead.status, lead.source) for lead in LEADS]


async def test_similar_leads_are_semantic_and_never_the_lead_itself(vectors: VectorStore, account_id: int) -> None:
    await vectors.upsert_leads(account_id=account_id, items=prefixed(f"a{account_id}"))
    p = f"a{account_id}"

    [fleet] = await vectors.similar_leads(account_id=account_id, lead_ids=[f"{p}-fleet"], first=3)

    assert len(fleet) == 3
    assert f"{p}-fleet" not in ids(fleet)
    assert fleet[0].id == f"{p}-gps"
    by_id = {m.id: m.score for m in fleet}
    assert by_id[f"{p}-gps"] > by_id[f"{p}-flowers"]
    assert [m.score for m in fleet] == sorted((m.score for m in fleet), reverse=True)
    assert all(-1.0 <= m.score <= 1.0 for m in fleet)


async def test_similar_leads_answers_every_key_in_order_in_one_batch(vectors: VectorStore, account_id: int) -> None:
    p = f"b{account_id}"
    await vectors.upsert_leads(account_id=account_id, items=prefixed(p))
    keys = [f"{p}-flowers", "missing", f"{p}-fleet", f"{p}-flowers"]

    with collecting(StoreStats()) as stats:
        result = await vectors.similar_leads(account_id=account_id, lead_ids=keys, first=1)

    assert stats.stores["chroma"].calls == 1
    assert [ids(r) for r in result] == [[f"{p}-cakes"], [], [f"{p}-gps"], [f"{p}-cakes"]]
    assert await vectors.similar_leads(account_id=account_id, lead_ids=["missing"], first=5) == [[]]
    assert await vectors.similar_leads(account_id=account_id, lead_ids=[], first=5) == []
    assert await vectors.similar_leads(account_id=account_id, lead_ids=[f"{p}-fleet"], first=0) == [[]]


async def test_first_larger_than_the_account_returns_all_others(vectors: VectorStore, account_id: int) -> None:
    p = f"c{account_id}"
    await vectors.upsert_leads(account_id=account_id, items=prefixed(p))

    [others] = await vectors.similar_leads(account_id=account_id, lead_ids=[f"{p}-fleet"], first=50)

    assert sorted(ids(others)) == sorted(f"{p}-{x}" for x in ("gps", "flowers", "cakes"))


async def test_accounts_never_see_each_others_leads(vectors: VectorStore, account_id: int) -> None:
    other = account_id + 1
    mine, theirs = f"d{account_id}", f"d{other}"
    await vectors.upsert_leads(account_id=account_id, items=prefixed(mine))
    await vectors.upsert_leads(account_id=other, items=prefixed(theirs))

    [similar] = await vectors.similar_leads(account_id=account_id, lead_ids=[f"{mine}-fleet"], first=10)
    found = await vectors.search_leads(account_id=account_id, text="truck GPS tracking", first=10)
    # another account's lead is unknown, even when asked for by id
    assert await vectors.similar_leads(account_id=account_id, lead_ids=[f"{theirs}-fleet"], first=3) == [[]]

    assert all(m.id.startswith(mine) for m in similar + found)
    assert len(found) == len(LEADS)
    await vectors.clear_account(account_id=other)


async def test_search_leads_ranks_by_meaning_and_filters_metadata(vectors: VectorStore, account_id: int) -> None:
    p = f"e{account_id}"
    await vectors.upsert_leads(account_id=account_id, items=prefixed(p))

    top = await vectors.search_leads(account_id=account_id, text="truck GPS tracking", first=2)
    websites = await vectors.search_leads(account_id=account_id, text="truck GPS tracking", first=10, source="website")
    new_websites = await vectors.search_leads(
        account_id=account_id, text="flowers", first=10, status="new", source="website"
    )
    lost = await vectors.search_leads(account_id=account_id, text="anything", first=10, status="lost")

    assert set(ids(top)) == {f"{p}-gps", f"{p}-fleet"}
    assert ids(websites) == [f"{p}-fleet", f"{p}-flowers"]
    assert ids(new_websites) == [f"{p}-flowers", f"{p}-fleet"]
    assert ids(lost) == [f"{p}-cakes"]
    assert await vectors.search_leads(account_id=account_id, text="x", first=5, status="nobody") == []


async def test_upsert_replaces_text_and_metadata(vectors: VectorStore, account_id: int) -> None:
    p = f"f{account_id}"
    await vectors.upsert_leads(account_id=account_id, items=prefixed(p))
    await vectors.upsert_leads(
        account_id=account_id, items=[LeadText(f"{p}-cakes", "Refrigerated trucks with GPS trackers", "won", None)]
    )

    assert await vectors.count(account_id=account_id) == len(LEADS)
    assert ids(await vectors.search_leads(account_id=account_id, text="x", first=5, status="won")) == [f"{p}-cakes"]
    assert await vectors.search_leads(account_id=account_id, text="x", first=5, source="cold_call") == []


async def test_conversations_are_searched_per_account_and_lead(vectors: VectorStore, account_id: int) -> None:
    p = f"g{account_id}"
    calls = [
        ("call-1", "lead-a", "The customer asked about pricing for the enterprise plan and an SLA."),
        ("call-2", "lead-a", "Voicemail left, no answer after three attempts."),
        ("call-3", "lead-b", "They want a demo of route optimisation for refrigerated trucks."),
    ]
    for call_id, lead_id, text in calls:
        await vectors.upsert_conversation(account_id=account_id, call_id=f"{p}-{call_id}", lead_id=lead_id, text=text)
    await vectors.upsert_conversation(
        account_id=account_id + 1, call_id=f"{p}-other", lead_id="lead-a", text="Enterprise plan pricing and SLA"
    )

    pricing = await vectors.search_conversations(account_id=account_id, text="how much does enterprise cost", first=3)
    lead_b = await vectors.search_conversations(account_id=account_id, text="pricing", first=3, lead_id="lead-b")

    assert ids(pricing)[0] == f"{p}-call-1"
    assert len(pricing) == 3 and f"{p}-other" not in ids(pricing)
    assert ids(lead_b) == [f"{p}-call-3"]
    await vectors.clear_account(account_id=account_id + 1)


async def test_delete_lead_only_deletes_within_the_account(vectors: VectorStore, account_id: int) -> None:
    p = f"h{account_id}"
    await vectors.upsert_leads(account_id=account_id, items=prefixed(p))

    await vectors.delete_lead(account_id=account_id + 1, lead_id=f"{p}-gps")
    assert await vectors.count(account_id=account_id) == len(LEADS)

    await vectors.delete_lead(account_id=account_id, lead_id=f"{p}-gps")
    assert await vectors.count(account_id=account_id) == len(LEADS) - 1
    [fleet] = await vectors.similar_leads(account_id=account_id, lead_ids=[f"{p}-fleet"], first=3)
    assert f"{p}-gps" not in ids(fleet)
    assert await vectors.similar_leads(account_id=account_id, lead_ids=[f"{p}-gps"], first=3) == [[]]


async def test_count_and_clear_account(vectors: VectorStore, account_id: int) -> None:
    assert await vectors.count(account_id=account_id) == 0
    await vectors.upsert_leads(account_id=account_id, items=prefixed(f"i{account_id}"))
    await vectors.upsert_conversation(account_id=account_id, call_id=f"i{account_id}-call", lead_id="x", text="hi")
    assert await vectors.count(account_id=account_id) == len(LEADS)

    await vectors.clear_account(account_id=account_id)

    assert await vectors.count(account_id=account_id) == 0
    assert await vectors.search_conversations(account_id=account_id, text="hi", first=5) == []


async def test_ping_counts_as_a_round_trip(vectors: VectorStore) -> None:
    with collecting(StoreStats()) as stats:
        await vectors.ping()
    assert stats.stores["chroma"].calls == 1


async def test_data_survives_reopening_the_embedded_store(embedder: MiniLMEmbedder, tmp_path: Path) -> None:
    store = open_vectors("", path=tmp_path, embedder=embedder)
    await store.upsert_leads(account_id=1, items=prefixed("j"))
    await store.close()

    reopened = open_vectors("", path=tmp_path, embedder=embedder)
    try:
        assert await reopened.count(account_id=1) == len(LEADS)
    finally:
        await reopened.close()


@pytest.mark.parametrize("url", ["redis://localhost:6379", "chroma:8000", "file:///tmp/chroma"])
def test_open_vectors_names_the_setting_for_an_unknown_scheme(url: str, embedder: MiniLMEmbedder) -> None:
    with pytest.raises(ValueError, match=r"^CHROMA_URL: unsupported scheme '.*' \(use http://, https:// or leave"):
        open_vectors(url, path=Path("unused"), embedder=embedder)


# one collection per account


async def collection_names(vectors: VectorStore) -> set[str]:
    return set(await names(await vectors.client()))


async def test_each_account_has_its_own_collections_made_on_first_write(vectors: VectorStore, account_id: int) -> None:
    assert await vectors.search_leads(account_id=account_id, text="anything", first=5) == []
    assert await vectors.similar_leads(account_id=account_id, lead_ids=["x"], first=5) == [[]]
    assert await vectors.lead_texts(account_id=account_id, lead_ids=["x"]) == []
    assert await vectors.lead_ids_page(account_id=account_id, limit=10) == []
    assert await vectors.search_conversations(account_id=account_id, text="hi", first=5) == []
    await vectors.delete_lead(account_id=account_id, lead_id="x")
    assert not {f"leads_{account_id}", f"conversations_{account_id}"} & await collection_names(vectors)

    await vectors.upsert_leads(account_id=account_id, items=prefixed(f"k{account_id}"))
    assert f"leads_{account_id}" in await collection_names(vectors)
    assert f"conversations_{account_id}" not in await collection_names(vectors)
    await vectors.upsert_conversation(account_id=account_id, call_id=f"k{account_id}-call", lead_id="x", text="hi")
    assert f"conversations_{account_id}" in await collection_names(vectors)
    assert not {"leads", "conversations"} & await collection_names(vectors)  # no shared collection, ever

    await vectors.clear_account(account_id=account_id)
    assert not {f"leads_{account_id}", f"conversations_{account_id}"} & await collection_names(vectors)
    await vectors.clear_account(account_id=account_id)  # twice is harmless


async def test_a_warm_search_looks_no_collection_up(
    vectors: VectorStore, account_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    await vectors.upsert_leads(account_id=account_id, items=prefixed(f"m{account_id}"))
    client = await vectors.client()

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached account looked its collection up again")

    monkeypatch.setattr(client, "get_collection", refuse)
    monkeypatch.setattr(client, "get_or_create_collection", refuse)
    found = await vectors.search_leads(account_id=account_id, text="truck GPS tracking", first=2)
    assert len(found) == 2
    assert await vectors.count(account_id=account_id) == len(LEADS)


async def test_a_collection_dropped_behind_the_stores_back_is_looked_up_again(
    vectors: VectorStore, account_id: int
) -> None:
    p = f"n{account_id}"
    await vectors.upsert_leads(account_id=account_id, items=prefixed(p))
    assert await vectors.count(account_id=account_id) == len(LEADS)  # the handle is cached now
    # as another replica deleting the account, or a restore, would
    await (await vectors.client()).delete_collection(f"leads_{account_id}")

    assert await vectors.search_leads(account_id=account_id, text="truck", first=3) == []
    assert await vectors.count(account_id=account_id) == 0
    await vectors.upsert_leads(account_id=account_id, items=prefixed(p)[:1])
    assert await vectors.count(account_id=account_id) == 1
    await vectors.clear_account(account_id=account_id)

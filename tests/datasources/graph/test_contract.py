"""One contract, every graph backend (see conftest: FalkorDB native, FalkorDB over Bolt, real Neo4j)."""

from __future__ import annotations

import asyncio

import pytest

from datasources.graph import GraphStore, IntroductionPath, Neighbour, open_graph
from datasources.instrument import StoreStats, collecting


async def leads(graph: GraphStore, account_id: int, *rows: tuple[str, str | None, str | None]) -> None:
    await graph.upsert_leads(account_id=account_id, leads=list(rows))


async def test_ping_and_schema_is_idempotent(graph: GraphStore) -> None:
    await graph.ping()
    await graph.ensure_schema()
    await graph.ensure_schema()


async def test_upsert_and_colleagues(graph: GraphStore, account_id: int) -> None:
    await leads(graph, account_id, ("a", "Acme", "u1"), ("b", "Acme", None), ("c", "Acme", "u1"), ("d", "Other", None))
    await graph.upsert_lead(account_id=account_id, lead_id="e", company=None, owner_id=None)

    got = await graph.colleagues(account_id=account_id, lead_ids=["c", "d", "e", "missing", "a"])

    assert got == [["a", "b"], [], [], [], ["b", "c"]]


async def test_company_change_moves_works_at(graph: GraphStore, account_id: int) -> None:
    await leads(graph, account_id, ("a", "Acme", None), ("b", "Acme", None), ("c", "Globex", None))

    await graph.upsert_lead(account_id=account_id, lead_id="a", company="Globex", owner_id=None)
    assert await graph.colleagues(account_id=account_id, lead_ids=["a", "b", "c"]) == [["c"], [], ["a"]]

    await graph.upsert_lead(account_id=account_id, lead_id="a", company=None, owner_id=None)
    assert await graph.colleagues(account_id=account_id, lead_ids=["a", "c"]) == [[], []]
    assert await graph.neighbours(account_id=account_id, lead_id="a") == []


async def test_owner_is_replaced_and_neighbours_are_plain_records(graph: GraphStore, account_id: int) -> None:
    await leads(graph, account_id, ("a", "Acme", "u1"), ("b", None, None))
    await graph.upsert_lead(account_id=account_id, lead_id="a", company="Acme", owner_id="u2")
    await graph.link_leads(account_id=account_id, from_id="b", to_id="a")
    await graph.link_call(account_id=account_id, lead_id="a", call_id="call-1", state="queued", started_at=None)

    got = await graph.neighbours(account_id=account_id, lead_id="a")

    assert got == [
        Neighbour(relation="HAD_CALL", direction="out", label="Call", id="call-1"),
        Neighbour(relation="OWNS", direction="in", label="User", id="u2"),
        Neighbour(relation="REFERRED", direction="in", label="Lead", id="b"),
        Neighbour(relation="WORKS_AT", direction="out", label="Company", id="Acme"),
    ]
    assert await graph.neighbours(account_id=account_id, lead_id="missing") == []


async def test_link_and_unlink(graph: GraphStore, account_id: int) -> None:
    await leads(graph, account_id, ("a", None, None), ("b", None, None))

    assert await graph.link_leads(account_id=account_id, from_id="a", to_id="b") is True
    assert await graph.link_leads(account_id=account_id, from_id="a", to_id="b") is True  # idempotent
    assert await graph.link_leads(account_id=account_id, from_id="a", to_id="missing") is False
    assert await graph.link_leads(account_id=account_id, from_id="missing", to_id="b") is False
    with pytest.raises(ValueError):
        await graph.link_leads(account_id=account_id, from_id="a", to_id="a")
    neighbours = await graph.neighbours(account_id=account_id, lead_id="a")
    assert neighbours == [Neighbour(relation="REFERRED", direction="out", label="Lead", id="b")]  # one edge

    assert await graph.unlink_leads(account_id=account_id, from_id="b", to_id="a") is False  # direction matters
    assert await graph.unlink_leads(account_id=account_id, from_id="a", to_id="b") is True
    assert await graph.unlink_leads(account_id=account_id, from_id="a", to_id="b") is False
    assert await graph.referrers(account_id=account_id, lead_ids=["b"]) == [None]


async def test_referrers_in_key_order(graph: GraphStore, account_id: int) -> None:
    await leads(graph, account_id, *[(x, None, None) for x in "abcd"])
    await graph.link_leads(account_id=account_id, from_id="a", to_id="b")
    await graph.link_leads(account_id=account_id, from_id="b", to_id="c")
    await graph.link_leads(account_id=account_id, from_id="d", to_id="c")  # two referrers: the lowest id

    got = await graph.referrers(account_id=account_id, lead_ids=["c", "missing", "b", "a", "c"])

    assert got == ["b", None, "a", None, "b"]
    assert await graph.referrers(account_id=account_id, lead_ids=[]) == []


async def test_referrals_by_depth_nearest_first(graph: GraphStore, account_id: int) -> None:
    await leads(graph, account_id, *[(x, None, None) for x in "abcdefg"])
    for src, dst in [("a", "c"), ("a", "b"), ("b", "d"), ("c", "d"), ("d", "e"), ("e", "a"), ("f", "g")]:
        assert await graph.link_leads(account_id=account_id, from_id=src, to_id=dst)

    one = await graph.referrals(account_id=account_id, lead_ids=["a", "missing", "g"], depth=1)
    deep = await graph.referrals(account_id=account_id, lead_ids=["f", "a", "d"], depth=6)

    assert one == [["b", "c"], [], []]
    assert deep == [["g"], ["b", "c", "d", "e"], ["e", "a", "b", "c"]]  # distinct, never the lead itself
    with pytest.raises(ValueError):
        await graph.referrals(account_id=account_id, lead_ids=["a"], depth=0)


async def test_introduction_path(graph: GraphStore, account_id: int) -> None:
    await leads(graph, account_id, ("a", "Acme", None), ("b", None, None), ("c", "Acme", None), ("d", None, None))
    await graph.link_leads(account_id=account_id, from_id="b", to_id="a")  # against the arrow still counts
    await graph.link_leads(account_id=account_id, from_id="c", to_id="d")

    direct = await graph.introduction_path(account_id=account_id, from_id="a", to_id="b", max_hops=1)
    via_colleague = await graph.introduction_path(account_id=account_id, from_id="b", to_id="d", max_hops=3)
    too_far = await graph.introduction_path(account_id=account_id, from_id="b", to_id="d", max_hops=2)
    unknown = await graph.introduction_path(account_id=account_id, from_id="a", to_id="missing", max_hops=6)
    same = await graph.introduction_path(account_id=account_id, from_id="c", to_id="c", max_hops=1)

    assert direct == IntroductionPath(lead_ids=["a", "b"], relations=["REFERRED"])
    assert via_colleague == IntroductionPath(
        lead_ids=["b", "a", "c", "d"], relations=["REFERRED", "COLLEAGUE", "REFERRED"]
    )
    assert too_far is None
    assert unknown is None
    assert same == IntroductionPath(lead_ids=["c"], relations=[])
    with pytest.raises(ValueError):
        await graph.introduction_path(account_id=account_id, from_id="a", to_id="b", max_hops=7)


async def test_introduction_path_counts_leads_not_relationships(graph: GraphStore, account_id: int) -> None:
    # a ~ m -> n ~ b is three lead steps but five relationships (a colleague step is Lead-Company-Lead);
    # a -> x -> y -> z -> b is four steps in four relationships. A shortest path by relationships would pick
    # the referral chain and then find nothing within three hops.
    await leads(
        graph,
        account_id,
        ("a", "K1", None),
        ("m", "K1", None),
        ("n", "K2", None),
        ("b", "K2", None),
        ("x", None, None),
        ("y", None, None),
        ("z", None, None),
    )
    for src, dst in [("m", "n"), ("a", "x"), ("x", "y"), ("y", "z"), ("z", "b")]:
        await graph.link_leads(account_id=account_id, from_id=src, to_id=dst)

    three = await graph.introduction_path(account_id=account_id, from_id="a", to_id="b", max_hops=3)
    back = await graph.introduction_path(account_id=account_id, from_id="b", to_id="a", max_hops=6)
    two = await graph.introduction_path(account_id=account_id, from_id="a", to_id="b", max_hops=2)

    assert three == IntroductionPath(lead_ids=["a", "m", "n", "b"], relations=["COLLEAGUE", "REFERRED", "COLLEAGUE"])
    assert back == IntroductionPath(lead_ids=["b", "n", "m", "a"], relations=["COLLEAGUE", "REFERRED", "COLLEAGUE"])
    assert two is None


async def test_tenant_isolation(graph: GraphStore, account_id: int) -> None:
    other = account_id + 1
    await leads(graph, account_id, ("a", "Acme", "u1"), ("b", "Acme", None))
    await graph.link_leads(account_id=account_id, from_id="a", to_id="b")
    await graph.link_call(account_id=account_id, lead_id="a", call_id="k", state="queued", started_at=None)
    try:
        assert await graph.colleagues(account_id=other, lead_ids=["a", "b"]) == [[], []]
        assert await graph.referrers(account_id=other, lead_ids=["b"]) == [None]
        assert await graph.referrals(account_id=other, lead_ids=["a"], depth=3) == [[]]
        assert await graph.neighbours(account_id=other, lead_id="a") == []
        assert await graph.calls_of(account_id=other, lead_ids=["a"]) == [[]]
        assert await graph.introduction_path(account_id=other, from_id="a", to_id="b", max_hops=2) is None
        assert await graph.introduction_path(account_id=other, from_id="a", to_id="a", max_hops=2) is None
        assert await graph.link_leads(account_id=other, from_id="b", to_id="a") is False
        assert await graph.unlink_leads(account_id=other, from_id="a", to_id="b") is False
        await graph.delete_lead(account_id=other, lead_id="a")
        await graph.clear_account(account_id=other)
        # The same ids in another account are separate nodes.
        await leads(graph, other, ("a", "Acme", None))
        assert await graph.colleagues(account_id=other, lead_ids=["a"]) == [[]]
        assert await graph.colleagues(account_id=account_id, lead_ids=["a"]) == [["b"]]
        assert await graph.referrers(account_id=account_id, lead_ids=["b"]) == ["a"]
        assert await graph.calls_of(account_id=account_id, lead_ids=["a"]) == [["k"]]
    finally:
        await graph.clear_account(account_id=other)


async def test_link_call_and_calls_of(graph: GraphStore, account_id: int) -> None:
    await leads(graph, account_id, ("a", None, None), ("b", None, None))
    await graph.link_call(account_id=account_id, lead_id="a", call_id="c1", state="queued", started_at=None)
    await graph.link_call(
        account_id=account_id, lead_id="a", call_id="c1", state="answered", started_at="2026-01-01T10:00:00Z"
    )
    await graph.link_call(
        account_id=account_id, lead_id="a", call_id="c2", state="completed", started_at="2026-01-02T10:00:00Z"
    )
    await graph.link_call(account_id=account_id, lead_id="a", call_id="c0", state="queued", started_at=None)
    await graph.link_call(account_id=account_id, lead_id="missing", call_id="c9", state="queued", started_at=None)

    got = await graph.calls_of(account_id=account_id, lead_ids=["b", "a", "missing"])

    assert got == [[], ["c2", "c1", "c0"], []]
    calls = [n for n in await graph.neighbours(account_id=account_id, lead_id="a") if n.label == "Call"]
    assert len(calls) == 3  # MERGE: the repeated link made no second edge


async def test_delete_lead(graph: GraphStore, account_id: int) -> None:
    await leads(graph, account_id, ("a", "Acme", "u1"), ("b", "Acme", None))
    await graph.link_leads(account_id=account_id, from_id="a", to_id="b")

    await graph.delete_lead(account_id=account_id, lead_id="a")
    await graph.delete_lead(account_id=account_id, lead_id="a")  # compensation may run twice

    assert await graph.colleagues(account_id=account_id, lead_ids=["b"]) == [[]]
    assert await graph.referrers(account_id=account_id, lead_ids=["b"]) == [None]
    assert await graph.link_leads(account_id=account_id, from_id="b", to_id="a") is False


async def test_upsert_leads_batch_is_chunked_not_lost(graph: GraphStore, account_id: int) -> None:
    # ~40 KB of parameters: far beyond what one FalkorDB Bolt request survives.
    rows: list[tuple[str, str | None, str | None]] = [
        (f"lead-{i:04d}-{'x' * 60}", f"company-{i % 7}", f"user-{i % 3}") for i in range(400)
    ]
    rows.append((rows[0][0], "company-moved", None))  # a repeated lead: the last row wins

    await graph.upsert_leads(account_id=account_id, leads=rows)
    await graph.upsert_leads(account_id=account_id, leads=[])

    company = {lead: name for lead, name, _ in rows}
    ids = list(company)
    got = await graph.colleagues(account_id=account_id, lead_ids=ids)
    assert got == [sorted(o for o in ids if o != lead and company[o] == company[lead]) for lead in ids]
    assert await graph.neighbours(account_id=account_id, lead_id=ids[0]) == [
        Neighbour(relation="WORKS_AT", direction="out", label="Company", id="company-moved")
    ]
    assert Neighbour(relation="OWNS", direction="in", label="User", id="user-1") in await graph.neighbours(
        account_id=account_id, lead_id=ids[1]
    )


async def test_oversized_request_is_refused_not_sent(graph: GraphStore, account_id: int) -> None:
    # One FalkorDB Bolt request over ~4 KB takes the whole server down (Redis with it): such a row must be
    # refused before it is sent. Servers without that limit simply store it.
    try:
        await graph.upsert_lead(account_id=account_id, lead_id="a", company="c" * 5000, owner_id=None)
    except ValueError:
        assert await graph.colleagues(account_id=account_id, lead_ids=["a"]) == [[]]
    await graph.ping()


async def test_batch_lookups_are_one_round_trip(graph: GraphStore, account_id: int) -> None:
    await leads(graph, account_id, ("a", "Acme", None), ("b", "Acme", None))
    await graph.ping()  # any first-use probe happens here, not in the counted calls

    with collecting(StoreStats()) as stats:
        await graph.colleagues(account_id=account_id, lead_ids=["a", "b", "c"])
        await graph.referrers(account_id=account_id, lead_ids=["a", "b", "c"])

    assert stats.as_dict()["neo4j"]["calls"] == 2


async def test_reads_of_one_turn_answer_as_one_by_one(graph: GraphStore, account_id: int) -> None:
    """A page's loaders read in the same turn, each on its own connection: each answers as it would alone."""
    await leads(graph, account_id, ("a", "Acme", "u1"), ("b", "Acme", None), ("c", "Globex", None))
    await graph.link_leads(account_id=account_id, from_id="a", to_id="b")
    await graph.link_leads(account_id=account_id, from_id="b", to_id="c")

    async def reads() -> list[object]:
        return [
            await graph.colleagues(account_id=account_id, lead_ids=["a", "b", "c"]),
            await graph.referrers(account_id=account_id, lead_ids=["a", "b", "c"]),
            await graph.referrals(account_id=account_id, lead_ids=["a", "b"], depth=2),
            await graph.neighbours(account_id=account_id, lead_id="b"),
        ]

    alone = await reads()
    together = await asyncio.gather(
        graph.colleagues(account_id=account_id, lead_ids=["a", "b", "c"]),
        graph.referrers(account_id=account_id, lead_ids=["a", "b", "c"]),
        graph.referrals(account_id=account_id, lead_ids=["a", "b"], depth=2),
        graph.neighbours(account_id=account_id, lead_id="b"),
    )
    assert list(together) == alone
    assert alone[0] == [["b"], ["a"], []] and alone[1] == [None, "a", "b"]


async def test_bad_input_is_refused_before_the_server(graph: GraphStore, account_id: int) -> None:
    with pytest.raises(ValueError):
        await graph.upsert_lead(account_id=account_id, lead_id="", company=None, owner_id=None)
    with pytest.raises(ValueError):
        await graph.upsert_leads(account_id=account_id, leads=[("a", None, None), (None, None, None)])  # type: ignore[list-item]
    assert await graph.colleagues(account_id=account_id, lead_ids=["a"]) == [[]]


def test_open_graph_refuses_unknown_scheme() -> None:
    with pytest.raises(ValueError) as caught:
        open_graph("mongodb://localhost:27017")
    assert str(caught.value) == ("NEO4J_URI: unsupported scheme 'mongodb' (use bolt://, neo4j:// or falkordb://)")


@pytest.mark.parametrize("url", ["falkordb://127.0.0.1:1", "bolt://127.0.0.1:1"])
async def test_open_graph_does_no_io_until_used(url: str) -> None:
    store = open_graph(url)
    with pytest.raises(Exception):  # noqa: B017 - each client raises its own connection error
        await store.ping()
    await store.close()

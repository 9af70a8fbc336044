"""DataLoaders keep round trips flat: the same nested query with 5 and with 30 routes calls each store as often.

(30, not more: 50 such routes cost over the default MAX_QUERY_COST, and this test runs with the defaults.)"""

from __future__ import annotations

from tests.client import GraphQL

NESTED = """
query($first: Int!) { routes(first: $first) { edges { node { number driver { email } vehicle { plate }
  stops { sequence lead { fullName owner { email } referrals { fullName }
                          similar(first: 2) { score lead { fullName } } } }
} } } }
"""


async def ensure_routes(gql: GraphQL, count: int) -> None:
    have = await gql.query("{ routes(first: 100) { edges { cursor } } }")
    missing = count - len(have["routes"]["edges"])
    if missing <= 0:
        return
    leads = await gql.query("{ leads(first: 50) { edges { node { id } } } }")
    lead_ids = [e["node"]["id"] for e in leads["leads"]["edges"]]
    me = (await gql.query("{ me { user { id } } }"))["me"]["user"]["id"]
    for i in range(missing):
        stops = [
            {"address": f"{n} Flat St", "latitude": 40.7, "longitude": -74.0, "leadId": lead_ids[(i * 3 + n) % 50]}
            for n in range(3)
        ]
        made = await gql.query(
            "mutation($input: CreateRouteInput!) { createRoute(input: $input) { __typename } }",
            input={"number": f"FLAT-{i}", "date": "2026-12-24", "driverId": me, "stops": stops},
        )
        assert made["createRoute"]["__typename"] == "RoutePayload"


async def calls(gql: GraphQL, first: int) -> tuple[int, dict[str, int]]:
    body = await gql.result(NESTED, first=first)
    assert "errors" not in body, body["errors"]
    routes = body["data"]["routes"]["edges"]
    stops = sum(len(e["node"]["stops"]) for e in routes)
    assert len(routes) == first and stops >= first
    return stops, {store: s["calls"] for store, s in body["extensions"]["stores"].items()}


async def test_round_trips_depend_on_depth_not_rows(gql: GraphQL) -> None:
    await ensure_routes(gql, 30)
    stops_5, few = await calls(gql, 5)
    stops_30, many = await calls(gql, 30)
    assert stops_30 > 3 * stops_5 / 2
    # the same bounds for 5 routes and for 30: a count set by the query's depth, not by its rows. (MongoDB's
    # batches of `referrals` and `similar` leads merge into one when Chroma and the graph answer in the same
    # event-loop tick, so it is 2 or 3 whatever the rows.)
    for counts in (few, many):
        # routes, drivers, vehicles, stops, lead owners: one query each
        assert counts["postgresql"] == 5, counts
        # one batch per level: stop leads, then the leads behind referrals and behind similar
        assert 2 <= counts["mongodb"] <= 3, counts
        assert counts["neo4j"] == 1 and counts["chroma"] == 1, counts

"""The five queries of `bench/peers.py` (issue 12), each as Switchboard's request and its peer's for the same rows.

`same_*` reduce an answer to the rows it carries, so Switchboard's and PostGraphile's can be compared before
anything is timed (enum spellings differ: Switchboard's PENDING is PostgreSQL's and PostGraphile's `pending`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

type Answer = dict[str, Any]

PLAIN = "plain Starlette"
POSTGRAPHILE = "PostGraphile v5"


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    switchboard: Answer  # the request body
    peer: str | None = None  # PLAIN, POSTGRAPHILE or none (Switchboard only)
    peer_body: Answer | None = None
    peer_path: str = ""  # appended to the peer's base URL (the plain app has one path per answer)
    same: tuple[Callable[[Answer], Any], Callable[[Answer], Any]] | None = None  # (Switchboard's, the peer's)


def route_row(node: Answer) -> tuple[Any, ...]:
    return node["number"], node["name"], node["status"].upper(), node["date"]


def switchboard_routes(data: Answer) -> list[tuple[Any, ...]]:
    return [
        (n["number"], n["name"], (n["driver"] or {}).get("email"), (n["vehicle"] or {}).get("plate"),
         [(s["sequence"], s["address"], s["status"].upper()) for s in n["stops"]])
        for n in (e["node"] for e in data["routes"]["edges"])
    ]


def postgraphile_routes(data: Answer) -> list[tuple[Any, ...]]:
    return [
        (n["number"], n["name"], (n["userByDriverId"] or {}).get("email"), (n["vehicleByVehicleId"] or {}).get("plate"),
         [(s["sequence"], s["address"], s["status"].upper()) for s in n["stopsByRouteId"]["nodes"]])
        for n in (e["node"] for e in data["allRoutes"]["edges"])
    ]


def cases(*, route_id: str, route_row_id: int, account_id: int, first: int) -> list[Case]:
    """`route_id` is Switchboard's global id of the row PostGraphile knows as `route_row_id`."""
    route_fields = "number name status date"
    nested = f"""{{ routes(first: {first}) {{ edges {{ node {{ number name driver {{ fullName email }}
      vehicle {{ plate name }} stops {{ sequence address status }} }} }} }} }}"""
    nested_peer = f"""{{ allRoutes(first: {first}, condition: {{accountId: "{account_id}"}}, orderBy: PRIMARY_KEY_ASC)
      {{ edges {{ node {{ number name userByDriverId {{ fullName email }} vehicleByVehicleId {{ plate name }}
      stopsByRouteId(orderBy: SEQUENCE_ASC) {{ nodes {{ sequence address status }} }} }} }} }} }}"""
    cross = f"""{{ routes(first: {first}) {{ edges {{ node {{ number stops {{ sequence
      lead {{ fullName status }} }} }} }} }} }}"""
    return [
        Case("account", "{ account { name } }", {"query": "{ account { name } }"}, PLAIN,
             {"query": "{ account { name } }"}, "/account",
             (lambda d: d["account"]["name"], lambda d: d["account"]["name"])),
        Case("typename", "{ __typename }", {"query": "{ __typename }"}, PLAIN, {"query": "{ __typename }"},
             "/typename", (lambda d: d["__typename"], lambda d: d["__typename"])),
        Case("route", "route(id) by primary key",
             {"query": f"query($id: ID!) {{ route(id: $id) {{ {route_fields} }} }}", "variables": {"id": route_id}},
             POSTGRAPHILE,
             {"query": f"query($id: BigInt!) {{ routeByRowId(rowId: $id) {{ {route_fields} }} }}",
              "variables": {"id": str(route_row_id)}},
             same=(lambda d: route_row(d["route"]), lambda d: route_row(d["routeByRowId"]))),
        Case("nested", f"routes({first}) -> driver, vehicle, stops", {"query": nested}, POSTGRAPHILE,
             {"query": nested_peer}, same=(switchboard_routes, postgraphile_routes)),
        Case("cross", f"routes({first}) -> stops -> lead (PG + Mongo)", {"query": cross}),
    ]

"""The prepared lane (PREPARED_OPERATIONS, ops/prepared.py): a query answered from a compiled plan once is answered
again without Strawberry's view, and each answer is the one the full path gives: the same status, headers and
body, the same refusals for the same callers, and nothing the full path refuses is ever let through.

Each test sends an operation the server has not seen (a comment in its text makes it new): the first request
goes the full way, the ones after it through the lane, which `switchboard_prepared_operations_total` counts.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client import sign_in
from tests.ops.test_limits import cost_of
from tests.ops.test_metrics import scrape, value
from tests.servers import AppServer, demo_user, start_app

ROUTE = "query($id: ID!) { route(id: $id) { id number name status date stops { sequence address } } }"
NESTED = """{ routes(first: 10) { edges { cursor node { number name driver { fullName email }
  vehicle { plate name } stops { sequence address status } } } pageInfo { hasNextPage endCursor } } }"""
ACCOUNT = "{ account { id name slug timezone createdAt } }"
CROSS = """{ routes(first: 10) { edges { node { number
  stops { sequence lead { fullName status company { name } } } } } } }"""
TYPENAME = "{ __typename }"
ROLES = ("owner", "dispatcher", "driver", "agent", "viewer")


def fresh(query: str) -> str:
    """The same operation under a text the server has never seen (a comment changes the text, not the meaning)."""
    return f"# {uuid.uuid4().hex}\n{query}"


def counted(app: AppServer) -> tuple[float, float]:
    found = scrape(app)
    return (value(found, "switchboard_prepared_operations_total", outcome="answered"),
            value(found, "switchboard_prepared_operations_total", outcome="handed on"))


def post(app: AppServer, token: str | None, query: str, variables: dict[str, Any] | None = None,
         **headers: str) -> httpx.Response:
    sent = {"authorization": f"Bearer {token}"} if token else {}
    body: dict[str, Any] = {"query": query, **({"variables": variables} if variables is not None else {})}
    return httpx.post(app.graphql, json=body, headers={**sent, **headers}, timeout=60)


def steady(body: dict[str, Any]) -> dict[str, Any]:
    """The body without what changes between two equal requests: the bucket's level and the stores' times."""
    body = json.loads(json.dumps(body))
    cost = body.get("extensions", {}).get("cost") or {}
    if cost.get("throttleStatus"):
        cost["throttleStatus"].pop("currentlyAvailable")
    for name, store in body.get("extensions", {}).get("stores", {}).items():
        body["extensions"]["stores"][name] = store["calls"]
    return body


def same_response(first: httpx.Response, second: httpx.Response) -> None:
    assert second.status_code == first.status_code
    for header in ("content-type", "retry-after", "x-content-type-options", "cache-control"):
        assert second.headers.get(header) == first.headers.get(header), header
    assert steady(second.json()) == steady(first.json())


@pytest.fixture(scope="module")
def tokens(app_server: AppServer, demo_users: list[dict[str, str]]) -> dict[str, str]:
    found = {}
    for role in ROLES:
        user = next((u for u in demo_users if u["account"] == "acme" and u["role"] == role), None)
        if user is not None:
            found[role] = sign_in(app_server.graphql, user["email"], user["password"])["accessToken"]
    globex = demo_user(demo_users, "globex", "owner")
    found["globex"] = sign_in(app_server.graphql, globex["email"], globex["password"])["accessToken"]
    return found


@pytest.fixture(scope="module")
def route_id(app_server: AppServer, tokens: dict[str, str]) -> str:
    body = post(app_server, tokens["owner"], "{ routes(first: 1) { edges { node { id } } } }").json()
    return str(body["data"]["routes"]["edges"][0]["node"]["id"])


@pytest.mark.parametrize("query", [ROUTE, NESTED, ACCOUNT, TYPENAME, CROSS],
                         ids=["route", "nested", "account", "typename", "cross-store"])
@pytest.mark.parametrize("accept", ["application/json", "application/graphql-response+json"])
def test_the_lane_answers_as_the_full_path_did(app_server: AppServer, tokens: dict[str, str], route_id: str,
                                               query: str, accept: str) -> None:
    text = fresh(query)
    variables = {"id": route_id} if "$id" in query else None
    first = post(app_server, tokens["owner"], text, variables, accept=accept)
    assert first.status_code == 200 and "errors" not in first.json(), first.json()
    answered, _ = counted(app_server)
    for _ in range(3):
        same_response(first, post(app_server, tokens["owner"], text, variables, accept=accept))
    assert counted(app_server)[0] == answered + 3
    stores = {name: v["calls"] for name, v in first.json()["extensions"]["stores"].items()}
    assert stores == ({} if query == TYPENAME else {"postgresql": 1, **({"mongodb": 1} if query == CROSS else {})})


@pytest.mark.parametrize("query", [NESTED, ACCOUNT], ids=["nested", "account"])
def test_each_caller_gets_their_own_answer_and_refusal(app_server: AppServer, tokens: dict[str, str],
                                                       query: str) -> None:
    """Learned from the owner, the operation is answered for every other caller as the full path answers them:
    a driver sees only their routes, an agent is FORBIDDEN the fleet, globex sees globex."""
    text = fresh(query)
    assert post(app_server, tokens["owner"], text).status_code == 200
    for caller in tokens:
        other = fresh(query)  # never answered from a plan before: the full path
        full = post(app_server, tokens[caller], other)
        same_response(full, post(app_server, tokens[caller], text))
    agent = post(app_server, tokens["agent"], text).json()
    if query == NESTED:
        assert agent["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    else:
        assert agent["data"]["account"]["name"]
    globex = post(app_server, tokens["globex"], text).json()["data"]
    owner = post(app_server, tokens["owner"], text).json()["data"]
    assert globex != owner


def test_a_route_of_another_account_is_null(app_server: AppServer, tokens: dict[str, str], route_id: str) -> None:
    text = fresh(ROUTE)
    assert post(app_server, tokens["owner"], text, {"id": route_id}).json()["data"]["route"]["id"] == route_id
    answered, _ = counted(app_server)
    assert post(app_server, tokens["globex"], text, {"id": route_id}).json()["data"] == {"route": None}
    assert counted(app_server)[0] == answered + 1


def test_an_ended_session_is_refused_as_the_full_path_refuses_it(app_server: AppServer,
                                                                 demo_users: list[dict[str, str]]) -> None:
    owner = demo_user(demo_users, "acme", "owner")
    token = sign_in(app_server.graphql, owner["email"], owner["password"])["accessToken"]
    text = fresh(ACCOUNT)
    assert post(app_server, token, text).status_code == 200
    assert post(app_server, token, "mutation { signOut { __typename } }").status_code == 200
    full = post(app_server, token, fresh(ACCOUNT))
    assert full.status_code == 401 and full.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    _, handed_on = counted(app_server)
    same_response(full, post(app_server, token, text))
    assert counted(app_server)[1] == handed_on + 1
    anonymous = post(app_server, None, fresh(ACCOUNT))
    same_response(anonymous, post(app_server, None, text))


def test_what_the_limits_refuse_is_never_prepared(app_server: AppServer, tokens: dict[str, str],
                                                  route_id: str) -> None:
    """Compilable documents over the depth or alias limits are refused every time, by the full path."""
    inner = "id"
    for _ in range(7):
        inner = f"stops {{ route {{ {inner} }} }}"
    too_deep = fresh(f"query($id: ID!) {{ route(id: $id) {{ {inner} }} }}")
    too_many = fresh("{ " + " ".join(f"a{i}: __typename" for i in range(40)) + " }")
    before = counted(app_server)
    for query, variables in ((too_deep, {"id": route_id}), (too_many, None)):
        first = post(app_server, tokens["owner"], query, variables)
        assert first.json()["data"] is None and first.json()["errors"], first.json()
        same_response(first, post(app_server, tokens["owner"], query, variables))
    assert counted(app_server) == before


def test_other_shapes_of_request_go_the_full_way(app_server: AppServer, tokens: dict[str, str]) -> None:
    text = fresh(ACCOUNT)
    owner = {"authorization": f"Bearer {tokens['owner']}"}
    assert post(app_server, tokens["owner"], text).status_code == 200
    before = counted(app_server)
    got = httpx.get(app_server.graphql, params={"query": text}, headers=owner, timeout=60)
    assert got.status_code == 200 and got.json()["data"]["account"]
    batch = httpx.post(app_server.graphql, json=[{"query": text}], headers=owner, timeout=60)
    assert batch.status_code in (200, 400)
    with_extensions = httpx.post(app_server.graphql, json={"query": text, "extensions": {}}, headers=owner,
                                 timeout=60)
    assert with_extensions.json()["data"]["account"]
    as_text = httpx.post(app_server.graphql, content=json.dumps({"query": text}),
                         headers={**owner, "content-type": "text/plain"}, timeout=60)
    assert as_text.status_code == 400
    assert counted(app_server) == before


@pytest.fixture(scope="module")
def small_budget(app_server: AppServer, tokens: dict[str, str], store_env: dict[str, str],
                 data_root: Path) -> Iterator[tuple[AppServer, str]]:
    """An app whose one API key (its own bucket) holds three ACCOUNT queries, restoring a point in 1,000 s."""
    made = post(app_server, tokens["owner"], "mutation($n: String!) { createApiKey(name: $n, role: VIEWER) { "
                "... on ApiKeyCreatedPayload { key apiKey { prefix } } } }", {"n": f"lane {uuid.uuid4().hex[:6]}"})
    key = made.json()["data"]["createApiKey"]
    env = {**store_env, "SEED_DEMO": "0", "COST_RESTORE_RATE": "0.001",
           "COST_BUDGET_BY_API_KEY": json.dumps({key["apiKey"]["prefix"]: 3 * cost_of(ACCOUNT)})}
    server = start_app(env, data_root / "prepared-budget.log")
    yield server, key["key"]
    server.stop()


def test_an_empty_budget_is_refused_as_the_full_path_refuses_it(small_budget: tuple[AppServer, str]) -> None:
    app, key = small_budget
    text = fresh(ACCOUNT)
    assert post(app, key, text).status_code == 200
    answered, handed_on = counted(app)
    assert post(app, key, text).status_code == 200
    assert post(app, key, text).status_code == 200
    lane = post(app, key, text)
    assert counted(app) == (answered + 2, handed_on + 1)
    full = post(app, key, fresh(ACCOUNT))
    assert lane.status_code == full.status_code == 429
    assert lane.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    # the seconds to wait shrink as the bucket refills between the two requests: equal but for those
    assert abs(int(lane.headers["retry-after"]) - int(full.headers["retry-after"])) <= 1
    assert re.sub(r"\d+", "N", lane.text) == re.sub(r"\d+", "N", full.text)

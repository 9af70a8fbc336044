"""The embedded default: no store URLs at all, data under one folder, demo data once, the same after a restart."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.client import sign_in
from tests.servers import demo_user, read_demo_users, start_app

NO_URLS = {
    "POSTGRES_URL": "", "MONGODB_URI": "", "NEO4J_URI": "", "REDIS_URL": "", "CHROMA_URL": "",
    "DEMO_LEADS": "30", "SWITCHBOARD_DEBUG_STATS": "0",
}
QUERY = "{ account { name } leads(first: 100) { edges { node { id } } } routes(first: 3) { edges { node { stops { lead { referrals { id } similar(first: 1) { score } } } } } } }"  # noqa: E501


def fetch(url: str, token: str, query: str = QUERY, **variables: str) -> dict:
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables},
                          headers={"authorization": f"Bearer {token}"}, timeout=60)
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    return response.json()["data"]


def token_of(url: str, data_dir: Path, account: str, role: str = "owner") -> str:
    user = demo_user(read_demo_users(data_dir), account, role)
    return sign_in(f"{url}/graphql", user["email"], user["password"])["accessToken"]


def test_embedded_default_starts_seeds_and_keeps_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**NO_URLS, "SWITCHBOARD_DATA_DIR": str(data_dir)}
    first = start_app(env, tmp_path / "first.log", timeout=240)
    try:
        health = httpx.get(f"{first.url}/health").json()
        assert set(health["databases"].values()) == {"connected"}
        anonymous = httpx.post(f"{first.url}/graphql", json={"query": QUERY}, timeout=60)
        assert anonymous.status_code == 401 and anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert "demo-users.json" in (tmp_path / "first.log").read_text(), "the demo users are printed at start-up"
        token = token_of(first.url, data_dir, "acme")
        before = fetch(first.url, token)
        # a user of the other demo tenant reading an acme lead by its global id: not found
        lead_id = before["leads"]["edges"][0]["node"]["id"]
        globex = token_of(first.url, data_dir, "globex")
        assert fetch(first.url, globex, "query($id: ID!) { node(id: $id) { id } }", id=lead_id) == {"node": None}
    finally:
        first.stop()
    assert before["account"]["name"] == "Acme Logistics" and len(before["leads"]["edges"]) == 30
    assert {p.name for p in data_dir.iterdir()} >= {"postgres", "mongo", "redis", "chroma"}

    second = start_app(env, tmp_path / "second.log", timeout=240)
    try:
        after = fetch(second.url, token)  # the development JWT secret is kept in the data folder
    finally:
        second.stop()
    assert after == before
    assert "demo data written" not in (tmp_path / "second.log").read_text()

"""The embedded default: no store URLs at all, data under one folder, demo data once, the same after a restart."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.servers import start_app

NO_URLS = {
    "POSTGRES_URL": "", "MONGODB_URI": "", "NEO4J_URI": "", "REDIS_URL": "", "CHROMA_URL": "",
    "DEMO_LEADS": "30", "SWITCHBOARD_DEBUG_STATS": "0",
}
QUERY = "{ account { name } leads(first: 100) { edges { node { id } } } routes(first: 3) { edges { node { stops { lead { referrals { id } similar(first: 1) { score } } } } } } }"  # noqa: E501


def fetch(url: str) -> dict:
    response = httpx.post(f"{url}/graphql", json={"query": QUERY}, timeout=60)
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    return response.json()["data"]


def test_embedded_default_starts_seeds_and_keeps_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**NO_URLS, "SWITCHBOARD_DATA_DIR": str(data_dir)}
    first = start_app(env, tmp_path / "first.log", timeout=240)
    try:
        health = httpx.get(f"{first.url}/health").json()
        assert set(health["databases"].values()) == {"connected"}
        before = fetch(first.url)
    finally:
        first.stop()
    assert before["account"]["name"] == "Acme Logistics" and len(before["leads"]["edges"]) == 30
    assert {p.name for p in data_dir.iterdir()} >= {"postgres", "mongo", "redis", "chroma"}

    second = start_app(env, tmp_path / "second.log", timeout=240)
    try:
        after = fetch(second.url)
    finally:
        second.stop()
    assert after == before
    assert "demo data written" not in (tmp_path / "second.log").read_text()

from __future__ import annotations

import httpx

from tests.servers import AppServer


def test_health_reports_every_database(app_server: AppServer) -> None:
    response = httpx.get(f"{app_server.url}/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["uptime"] >= 0 and body["timestamp"]
    assert body["databases"] == dict.fromkeys(("mongodb", "postgresql", "neo4j", "redis", "chroma"), "connected")


def test_ready_and_live(app_server: AppServer) -> None:
    ready = httpx.get(f"{app_server.url}/health/ready").json()
    assert ready["status"] == "ready"
    assert set(ready["checks"]) == {"mongodb", "postgresql", "neo4j", "redis", "chroma"}
    assert all(c["status"] == "up" and c["latency_ms"] >= 0 for c in ready["checks"].values())
    assert httpx.get(f"{app_server.url}/health/live").json()["status"] == "alive"


def test_metrics_count_store_round_trips_and_requests(app_server: AppServer, auth_headers: dict[str, str]) -> None:
    httpx.post(f"{app_server.url}/graphql", json={"query": "{ leads(first: 2) { edges { cursor } } }"},
               headers=auth_headers)
    text = httpx.get(f"{app_server.url}/metrics").text
    assert 'switchboard_store_round_trip_seconds_count{operation="list_leads",store="mongodb"}' in text
    assert 'switchboard_http_requests_total{method="POST",path="/graphql",status="200"}' in text


def test_request_id_is_echoed_or_made(app_server: AppServer) -> None:
    given = httpx.get(f"{app_server.url}/health/live", headers={"x-request-id": "abc-123"})
    assert given.headers["x-request-id"] == "abc-123"
    made = httpx.get(f"{app_server.url}/health/live")
    assert len(made.headers["x-request-id"]) == 32


def test_unknown_path_is_404(app_server: AppServer) -> None:
    assert httpx.get(f"{app_server.url}/nope").status_code == 404


def test_every_route_is_its_own_metrics_label(app_server: AppServer) -> None:
    httpx.post(f"{app_server.url}/webhooks/telnyx", content=b"{}")
    httpx.get(f"{app_server.url}/no/such/path")
    text = httpx.get(f"{app_server.url}/metrics").text
    assert 'path="/webhooks/telnyx",status="401"' in text
    assert 'path="other",status="404"' in text

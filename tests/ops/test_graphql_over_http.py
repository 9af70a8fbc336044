"""GraphQL over HTTP: graphql-http's own audit (npm) passes every MUST and every SHOULD, signed in."""

from __future__ import annotations

import json
import shutil
import subprocess

import httpx
import pytest

from tests.servers import ROOT, AppServer

AUDIT = ROOT / "tests" / "ops" / "js" / "graphql_http_audit.mjs"


@pytest.fixture(scope="module")
def audit(app_server: AppServer, owner_token: str) -> list[dict[str, str]]:
    if shutil.which("node") is None or not (ROOT / "node_modules" / "graphql-http").exists():
        pytest.skip("node and `npm ci` (graphql-http) are needed for the GraphQL-over-HTTP audit")
    done = subprocess.run(["node", str(AUDIT), app_server.graphql, owner_token], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("level", ["MUST", "SHOULD"])
def test_the_audit_passes(audit: list[dict[str, str]], level: str) -> None:
    checks = [r for r in audit if r["name"].startswith(level)]
    failed = [r for r in checks if r["status"] != "ok"]
    print(f"graphql-http audit {level}: {len(checks) - len(failed)}/{len(checks)}")
    assert checks and not failed, failed


def test_request_errors_answer_400_without_data_to_graphql_response_clients(
    app_server: AppServer, auth_headers: dict[str, str]
) -> None:
    accept = {"accept": "application/graphql-response+json", **auth_headers}
    for body in ({"query": "{ leads(first: 1) { edges "}, {"query": "{ nope }"},
                 {"query": "query($n: Int!) { leads(first: $n) { edges { cursor } } }", "variables": {"n": "x"}}):
        response = httpx.post(app_server.graphql, json=body, headers=accept)
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/graphql-response+json")
        assert "data" not in response.json() and response.json()["errors"]
    ok = httpx.post(app_server.graphql, json={"query": "{ me { role } }"}, headers=accept)
    assert ok.status_code == 200 and ok.json()["data"]["me"]["role"] == "OWNER"
    legacy = httpx.post(app_server.graphql, json={"query": "{ nope }"}, headers=auth_headers)
    assert legacy.status_code == 200 and legacy.headers["content-type"].startswith("application/json")
    anonymous = httpx.post(app_server.graphql, json={"query": "{ me { role } }"},
                           headers={"accept": "application/graphql-response+json"})
    assert anonymous.status_code == 401 and "data" not in anonymous.json()

"""`switchboard simulate webhook` drives the real endpoint: the same signed event twice is applied once."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.client import GraphQL
from tests.schema.test_calls import START, new_lead
from tests.servers import ROOT, TEST_JWT_SECRET, AppServer


async def test_simulate_webhook_posts_signed_events(
    app_server: AppServer, store_env: dict[str, str], app_gql: GraphQL
) -> None:
    lead = await new_lead(app_gql, last_digit=7)
    call_id = (await app_gql.query(START, id=lead))["startCall"]["call"]["id"]
    result = subprocess.run(
        [sys.executable, "-m", "ops.cli", "simulate", "webhook", call_id, "call.dtmf.received", "-f", "digit=5",
         "--event-id", f"cli-{call_id}", "--times", "2", "--url", app_server.url,
         "--data-dir", store_env["SWITCHBOARD_DATA_DIR"]],
        cwd=ROOT, env={**os.environ, "JWT_SECRET": TEST_JWT_SECRET, "SWITCHBOARD_TOKEN": app_gql.token or ""},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.strip().splitlines()
    assert first.startswith("200") and '"applied"' in first
    assert second.startswith("200") and '"duplicate"' in second

"""Bounded Redis, end to end: an archived call's keys expire and `Query.call` reads the MongoDB log, the outbox is
trimmed as it is acknowledged, a job that keeps failing ends in the dead letter and `switchboard outbox retry`
puts it back, and a subscription cursor into events that are gone gets CURSOR_EXPIRED."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
from gql import Client, GraphQLRequest
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport

from datasources.redis import keys
from ops.embedded.process import ChildServer
from ops.embedded.redis import start_redis
from ops.voice import DEV_KEY_FILE
from resolvers.ids import decode
from resolvers.ids import encode as encode_id
from tests.client import sign_in
from tests.servers import ROOT, AppServer, app_client_state_key, postgres_database, start_app
from voice.client_state import encode
from voice.outbox import GROUP
from voice.signature import load_private_key
from voice.simulator import envelope, signed_headers

MAX_ATTEMPTS = 3
CALL = "query($id: ID!) { call(id: $id) { id state live hangupCause } }"


@dataclass
class Retaining:
    """An app of its own (own Redis, so its outbox is its own) keeping archived calls for one second."""

    app: AppServer
    redis: redis.Redis
    env: dict[str, str]
    token: str
    account_id: int
    key: Any

    def gql(self, query: str, **variables: object) -> dict[str, Any]:
        response = httpx.post(self.app.graphql, json={"query": query, "variables": variables}, timeout=30,
                              headers={"authorization": f"Bearer {self.token}"})
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def webhook(self, call_id: str, kind: str, **payload: Any) -> None:
        state = encode(call_id=call_id, account_id=self.account_id, key=app_client_state_key())
        body = envelope(kind, {"call_control_id": f"v3:{call_id}", "client_state": state, **payload})
        answer = httpx.post(f"{self.app.url}/webhooks/telnyx", content=body, headers=signed_headers(self.key, body))
        assert answer.status_code == 200 and answer.json()["status"] == "applied", answer.text

    def end_call(self, call_id: str) -> None:
        self.webhook(call_id, "call.initiated")
        self.webhook(call_id, "call.hangup", hangup_cause="normal_clearing", hangup_source="caller")

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "ops.cli", "outbox", *args], env={**os.environ, **self.env},
                              cwd=ROOT, capture_output=True, text=True, timeout=60)


def entries(r: redis.Redis, key: str, count: int | None = None) -> list[tuple[str, dict[str, str]]]:
    rows: Any = r.xrange(key, count=count)  # the client decodes responses: ids and fields are str
    return list(rows)


def eventually(check: Callable[[], bool], what: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def retaining(
    tmp_path_factory: pytest.TempPathFactory, store_env: dict[str, str], postgres_admin: str
) -> Iterator[Retaining]:
    tmp = tmp_path_factory.mktemp("outbox")
    server: ChildServer = start_redis(tmp / "redis", persist=False)
    with postgres_database(postgres_admin) as pg:
        env = {**store_env, "POSTGRES_URL": pg, "REDIS_URL": server.url, "SWITCHBOARD_DATA_DIR": str(tmp / "app"),
               "MONGODB_DATABASE": "switchboard_outbox", "SEED_DEMO": "0", "CALL_RETENTION": "1s",
               "ARCHIVE_RETRY_AFTER": "0.2", "ARCHIVE_MAX_ATTEMPTS": str(MAX_ATTEMPTS)}
        app = start_app(env, tmp / "app.log")
        client = redis.Redis.from_url(server.url, decode_responses=True)
        try:
            email = f"owner-{uuid.uuid4().hex[:8]}@outbox.example"
            made = subprocess.run(
                [sys.executable, "-m", "ops.cli", "create-account", "Outbox", "--owner-email", email],
                env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
            )
            password = next(line.split(": ", 1)[1] for line in made.stdout.splitlines()
                            if line.startswith("password"))
            token = sign_in(app.graphql, email, password)["accessToken"]
            key = load_private_key((tmp / "app" / DEV_KEY_FILE).read_text())
            ctx = Retaining(app, client, env, token, 0, key)
            ctx.account_id = int(decode(ctx.gql("{ account { id } }")["data"]["account"]["id"])[1])
            yield ctx
        finally:
            client.close()
            app.stop()
            server.stop()


def outbox_settled(r: redis.Redis) -> bool:
    [group] = [g for g in r.xinfo_groups(keys.archive_outbox()) if g["name"] == GROUP]
    return group["pending"] == 0 and group["lag"] == 0 and r.xlen(keys.archive_outbox()) == 0


def test_an_archived_call_expires_from_redis_and_reads_from_the_log(retaining: Retaining) -> None:
    r, call_id = retaining.redis, f"kept-{uuid.uuid4().hex}"
    state, stream = keys.call_state(retaining.account_id, call_id), keys.call_stream(retaining.account_id, call_id)
    retaining.end_call(call_id)
    assert r.xlen(stream) == 2
    assert call_id not in r.smembers(keys.active_calls(retaining.account_id))  # taken out by the terminal event

    # archived, acknowledged, and the outbox trimmed behind it; then the call's keys go
    eventually(lambda: outbox_settled(r), "the outbox is acknowledged and trimmed")
    eventually(lambda: not r.exists(state, stream), "the archived call's keys expire")

    read = retaining.gql(CALL, id=encode_id("Call", call_id))
    assert "errors" not in read, read
    assert read["data"]["call"] == {"id": encode_id("Call", call_id), "state": "COMPLETED", "live": False,
                                    "hangupCause": "normal_clearing"}


def test_a_failing_archive_is_dead_lettered_and_retried(retaining: Retaining) -> None:
    r, ghost = retaining.redis, f"ghost-{uuid.uuid4().hex}"
    # the outbox names a call Redis does not hold: every attempt fails
    r.xadd(keys.archive_outbox(), {"account_id": str(retaining.account_id), "call_id": ghost})
    eventually(lambda: r.xlen(keys.archive_dead_letter()) == 1, "the job reaches the dead letter")
    [(_, letter)] = entries(r, keys.archive_dead_letter())
    assert letter["call_id"] == ghost and letter["attempts"] == str(MAX_ATTEMPTS)
    assert "no longer holds" in letter["error"]
    eventually(lambda: outbox_settled(r), "the dead-lettered job is acknowledged off the outbox")

    listed = retaining.cli("list")
    assert listed.returncode == 0, listed.stderr
    [row] = [line for line in listed.stdout.splitlines() if ghost in line]
    assert str(retaining.account_id) in row and f" {MAX_ATTEMPTS} " in row and "no longer holds" in row

    # the call turns up (its own archive runs), then the retried job archives it again, idempotently
    retaining.end_call(ghost)
    eventually(lambda: outbox_settled(r), "the call's own archive lands")
    added = r.xinfo_stream(keys.archive_outbox())["entries-added"]
    retried = retaining.cli("retry", ghost)
    assert retried.returncode == 0, retried.stderr
    assert f"requeued {ghost}" in retried.stdout
    assert r.xlen(keys.archive_dead_letter()) == 0
    assert r.xinfo_stream(keys.archive_outbox())["entries-added"] == added + 1
    eventually(lambda: outbox_settled(r), "the retried job lands")
    assert r.xlen(keys.archive_dead_letter()) == 0

    again = retaining.cli("retry", "no-such-call")
    assert again.returncode == 1 and "no-such-call" in again.stderr
    assert "no dead-lettered archive jobs" in retaining.cli("list").stdout


async def _subscribe_error(retaining: Retaining, document: str, **variables: Any) -> dict[str, Any]:
    transport = WebsocketsTransport(url=retaining.app.ws, close_timeout=0.5,
                                    init_payload={"authorization": f"Bearer {retaining.token}"})
    async with Client(transport=transport, fetch_schema_from_transport=False) as session:
        with pytest.raises(TransportQueryError) as raised:
            async for _ in session.subscribe(GraphQLRequest(document, variable_values=variables)):
                pass
    assert raised.value.errors
    return raised.value.errors[0]  # type: ignore[no-any-return]


async def test_a_cursor_into_events_that_are_gone_gets_cursor_expired(retaining: Retaining) -> None:
    r, call_id = retaining.redis, f"expiring-{uuid.uuid4().hex}"
    retaining.end_call(call_id)
    stream = keys.call_stream(retaining.account_id, call_id)
    [(cursor, _), _] = entries(r, stream)
    eventually(lambda: not r.exists(stream), "the archived call's stream expires")

    error = await _subscribe_error(
        retaining, "subscription($id: ID!, $after: String) { callUpdates(callId: $id, after: $after) { cursor } }",
        id=encode_id("Call", call_id), after=cursor,
    )
    assert error["extensions"]["code"] == "CURSOR_EXPIRED"
    assert f"after cursor {cursor}" in error["message"] and "Query.call" in error["message"]
    assert "without `after`" in error["message"]

    # the account stream is capped: a cursor before its oldest kept entry is refused the same way
    account = keys.account_stream(retaining.account_id)
    oldest = entries(r, account, count=1)[0][0]
    r.xtrim(account, maxlen=1, approximate=False)
    error = await _subscribe_error(retaining, "subscription($after: String) { liveCalls(after: $after) { cursor } }",
                                   after=oldest)
    assert error["extensions"]["code"] == "CURSOR_EXPIRED"

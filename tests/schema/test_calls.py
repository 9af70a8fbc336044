"""Live calls end to end: startCall through the simulated carrier, signed webhooks into the real endpoint,
state in Redis, events to GraphQL subscribers over WebSocket, the archive in MongoDB, the graph and Chroma."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport
from hypothesis import given, settings
from hypothesis import strategies as st

from datasources.redis import keys
from ops.voice import DEV_KEY_FILE
from resolvers.ids import decode
from resolvers.ids import encode as encode_id
from tests.client import GraphQL
from tests.servers import AppServer, app_client_state_key
from tests.strategies import json_values
from voice.client_state import encode
from voice.envelope import HANDLED
from voice.outbox import GROUP as ARCHIVERS
from voice.signature import load_private_key
from voice.simulator import envelope, signed_headers

_phones = itertools.count(2000)
CLIENT_STATE_KEY = app_client_state_key()
LEAD = """mutation($input: CreateLeadInput!) { createLead(input: $input) { ... on LeadPayload { lead { id } } } }"""
START = """mutation($id: ID!) { startCall(leadId: $id) { __typename
  ... on CallPayload { call { id state live lead { id } agent { role } } }
  ... on CallRefusedError { field message } ... on NotFoundError { field message } } }"""
LIVE = """subscription($after: String) { liveCalls(after: $after) { cursor type occurredAt
  call { id state live answeredBy hangupCause lead { id fullName } } } }"""
UPDATES = """subscription($id: ID!, $after: String) { callUpdates(callId: $id, after: $after) { cursor type
  call { id state live } } }"""
COMMAND = """mutation($id: ID!{args}) {{ {name}(callId: $id{pass_}) {{ __typename ... on CallPayload {{ call {{ id }} }}
  ... on ValidationError {{ field message }} ... on ConflictError {{ field message }} }} }}"""


def daytime_zone() -> str:
    """A fixed-offset zone where it is now early afternoon, so calling hours always allow the call."""
    offset = (13 - datetime.now(UTC).hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


def night_zone() -> str:
    offset = (2 - datetime.now(UTC).hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


async def new_lead(gql: GraphQL, *, last_digit: int = 0, **fields: Any) -> str:
    phone = f"+1415556{next(_phones) % 1000:03d}{last_digit}"
    data = {"firstName": "Caller", "phone": phone, "consent": {"call": True}, "timezone": daytime_zone(), **fields}
    made = await gql.query(LEAD, input=data)
    return made["createLead"]["lead"]["id"]


def ws_client(app: AppServer, token: str) -> Client:
    # gql waits close_timeout for a server `complete` after its own; graphql-transport-ws sends none
    transport = WebsocketsTransport(url=app.ws, close_timeout=0.5, init_payload={"authorization": f"Bearer {token}"})
    return Client(transport=transport, fetch_schema_from_transport=False)


async def collect_until_end(app: AppServer, document: str, call_of: Any, variables: dict[str, Any],
                            ready: asyncio.Event, timeout: float = 20, *, token: str,
                            linger: float = 0.0) -> list[dict[str, Any]]:
    """Events from a subscription until the call `call_of(event)` reaches a terminal state, and then for `linger`
    seconds more: the carrier's webhooks may be applied in another order than it sent them (a slow request), so
    an event can follow the hangup."""
    events: list[dict[str, Any]] = []
    ended = asyncio.Event()

    async def run() -> None:
        async with ws_client(app, token) as session:
            stream = session.subscribe(GraphQLRequest(document, variable_values=variables))
            ready.set()
            async for result in stream:
                event = next(iter(result.values()))
                events.append(event)
                call = call_of(event)
                if call is not None and not call["live"]:
                    ended.set()

    reader, until = asyncio.create_task(run()), asyncio.create_task(ended.wait())
    try:
        done, _ = await asyncio.wait({reader, until}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if not done:
            raise TimeoutError(f"the call did not end within {timeout} s: {[e.get('type') for e in events]}")
        if reader in done:
            reader.result()  # the subscription's own error, if it failed
        else:
            await asyncio.sleep(linger)
    finally:
        for task in (reader, until):  # a reader's own failure was raised above, if it mattered
            task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
    return events


async def test_start_call_streams_live_events_and_archives(app_server: AppServer, gql: GraphQL) -> None:
    lead = await new_lead(gql, last_digit=0)
    ready = asyncio.Event()
    call_ids: list[str] = []

    def mine(event: dict[str, Any]) -> dict[str, Any] | None:
        return event["call"] if event["call"]["id"] in call_ids else None

    watcher = asyncio.create_task(collect_until_end(app_server, LIVE, mine, {"after": None}, ready,
                                                    token=gql.token or "", linger=2.0))
    await asyncio.wait_for(ready.wait(), 10)
    await asyncio.sleep(0.3)  # the server registers the subscription
    started = (await gql.query(START, id=lead))["startCall"]
    assert started["__typename"] == "CallPayload", started
    call_ids.append(started["call"]["id"])
    assert started["call"]["lead"] == {"id": lead} and started["call"]["agent"] == {"role": "OWNER"}
    events = [e for e in await watcher if e["call"]["id"] in call_ids]
    types = [e["type"] for e in events]
    assert types[0] in ("call.queued", "call.dialed", "call.initiated")
    assert "call.answered" in types and "call.hangup" in types
    assert events[-1]["call"]["state"] == "COMPLETED" and events[-1]["call"]["answeredBy"] == "human_residence"
    cursors = [e["cursor"] for e in events]
    assert len(cursors) == len(set(cursors)), "no event is delivered twice"

    # the archive lands in MongoDB (call log, lead contact), the graph and Chroma
    deadline = time.monotonic() + 15
    while True:
        data = await gql.query(
            "query($id: ID!) { lead(id: $id) { contactAttempts lastContactedAt liveCall { id } "
            "calls(first: 5) { edges { node { id state hangupCause } } } } }", id=lead
        )
        if data["lead"]["calls"]["edges"] or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    assert [e["node"]["id"] for e in data["lead"]["calls"]["edges"]] == call_ids
    assert data["lead"]["contactAttempts"] == 1 and data["lead"]["lastContactedAt"]
    assert data["lead"]["liveCall"] is None
    call = await gql.query("query($id: ID!) { call(id: $id) { state durationSec } }", id=call_ids[0])
    assert call["call"]["state"] == "COMPLETED"


@pytest.mark.parametrize(("digit", "state"), [(6, "VOICEMAIL"), (7, "BUSY"), (8, "NO_ANSWER")])
async def test_simulated_outcomes(app_server: AppServer, gql: GraphQL, digit: int, state: str) -> None:
    lead = await new_lead(gql, last_digit=digit)
    started = (await gql.query(START, id=lead))["startCall"]
    call_id = started["call"]["id"]
    ready = asyncio.Event()
    events = await collect_until_end(
        app_server, UPDATES, lambda e: e["call"], {"id": call_id, "after": "0"},
        ready, token=gql.token or "",
    )
    assert events[-1]["call"]["state"] == state


async def test_refusals_dial_nothing(gql: GraphQL) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"doNotCall": True}, "do-not-call"),
        ({"consent": {"call": False}}, "not consented"),
        ({"timezone": night_zone()}, "outside calling hours"),
    ]
    for fields, reason in cases:
        lead = await new_lead(gql, **fields)
        refused = (await gql.query(START, id=lead))["startCall"]
        assert refused["__typename"] == "CallRefusedError" and reason in refused["message"], refused
        data = await gql.query("query($id: ID!) { lead(id: $id) { liveCall { id } } }", id=lead)
        assert data["lead"]["liveCall"] is None
    active = await gql.query("{ activeCalls { lead { id } } }")
    assert lead not in [c["lead"]["id"] for c in active["activeCalls"] if c["lead"]]


def dev_key(store_env: dict[str, str]) -> Any:
    return load_private_key((Path(store_env["SWITCHBOARD_DATA_DIR"]) / DEV_KEY_FILE).read_text())


async def test_signed_webhooks_reach_subscribers_once(
    app_server: AppServer, gql: GraphQL, store_env: dict[str, str]
) -> None:
    lead = await new_lead(gql, last_digit=0)
    call = (await gql.query(START, id=lead))["startCall"]["call"]
    account_id = int(decode((await gql.query("{ account { id } }"))["account"]["id"])[1])
    raw_call_id = decode(call["id"])[1]
    body = envelope(
        "call.hangup",
        {"call_control_id": "v3:manual",
         "client_state": encode(call_id=raw_call_id, account_id=account_id, key=CLIENT_STATE_KEY),
         "hangup_cause": "normal_clearing", "hangup_source": "caller"},
        event_id="manual-hangup-" + raw_call_id,
    )
    key = dev_key(store_env)
    url = f"{app_server.url}/webhooks/telnyx"
    async with httpx.AsyncClient() as http:
        first = await http.post(url, content=body, headers=signed_headers(key, body))
        second = await http.post(url, content=body, headers=signed_headers(key, body))
        assert first.status_code == second.status_code == 200
        assert {first.json()["status"], second.json()["status"]} <= {"applied", "duplicate"}
        assert second.json()["status"] == "duplicate"
    ready = asyncio.Event()
    events = await collect_until_end(app_server, UPDATES, lambda e: e["call"],
                                     {"id": call["id"], "after": "0"}, ready, token=gql.token or "")
    # up to the first terminal event: the replay can bring the carrier's own later hangup of the same call in the
    # same read (a later event with its own id, which the collector may or may not see before it stops)
    ended = next(n for n, e in enumerate(events) if not e["call"]["live"])
    manual = [e for e in events[: ended + 1] if e["type"] == "call.hangup"]
    assert len(manual) == 1 and events[ended]["call"]["state"] == "COMPLETED", events


async def test_transcription_lines_are_kept_beside_the_call_in_order(
    app_server: AppServer, gql: GraphQL, store_env: dict[str, str]
) -> None:
    """A talkative call's lines go to its transcript log, not into its JSON, which stays the same size; the
    `transcript` field reads them in the order spoken whatever the order they were delivered in."""
    account_id = int(decode((await gql.query("{ account { id } }"))["account"]["id"])[1])
    call_id = uuid.uuid4().hex
    state = encode(call_id=call_id, account_id=account_id, key=CLIENT_STATE_KEY)
    bodies = [envelope("call.transcription", {
        "call_control_id": f"v3:said-{call_id}", "client_state": state,
        "transcription_data": {"transcript": f"line {n}", "is_final": True,
                               "transcription_track": "inbound" if n % 2 else "outbound"}}) for n in range(40)]
    key, url = dev_key(store_env), f"{app_server.url}/webhooks/telnyx"
    with redis.Redis.from_url(store_env["REDIS_URL"], decode_responses=True) as client:
        async with httpx.AsyncClient() as http:
            for body in bodies[:2]:
                assert (await http.post(url, content=body, headers=signed_headers(key, body))).status_code == 200
            short = client.get(keys.call_state(account_id, call_id))
            for body in reversed(bodies[2:]):
                assert (await http.post(url, content=body, headers=signed_headers(key, body))).status_code == 200
        long = client.get(keys.call_state(account_id, call_id))
        assert short is not None and long is not None and "line " not in long
        assert len(long) <= len(short) + 16  # the same fields; a timestamp may gain its microseconds
        assert client.zcard(keys.call_transcript(account_id, call_id)) == 40
    found = await gql.query("query($id: ID!) { call(id: $id) { transcript } }", id=encode_id("Call", call_id))
    assert found["call"]["transcript"] == [f"{'lead' if n % 2 else 'agent'}: line {n}" for n in range(40)]


async def test_webhook_rejections_store_nothing(app_server: AppServer, store_env: dict[str, str]) -> None:
    key = dev_key(store_env)
    url = f"{app_server.url}/webhooks/telnyx"
    good = envelope("call.initiated", {"call_control_id": "v3:nobody"}, event_id="reject-test")
    async with httpx.AsyncClient() as http:
        unsigned = await http.post(url, content=good, headers={"content-type": "application/json"})
        assert unsigned.status_code == 401 and "telnyx-signature-ed25519" in unsigned.json()["error"]
        tampered = await http.post(url, content=good.replace(b"nobody", b"nobodz"), headers=signed_headers(key, good))
        assert tampered.status_code == 401
        stale = await http.post(url, content=good, headers=signed_headers(key, good, now=time.time() - 3600))
        assert stale.status_code == 401
        broken = b'{"data": {"id": 1}}'
        malformed = await http.post(url, content=broken, headers=signed_headers(key, broken))
        assert malformed.status_code == 400 and malformed.json()["error"]
        huge = orjson.dumps({"data": {"pad": "x" * 300_000}})
        too_big = await http.post(url, content=huge, headers=signed_headers(key, huge))
        assert too_big.status_code == 413
        other = envelope("call.cost", {"call_control_id": "v3:nobody"})
        ignored = await http.post(url, content=other, headers=signed_headers(key, other))
        assert ignored.status_code == 200 and ignored.json()["status"] == "ignored"
        unknown = await http.post(url, content=good, headers=signed_headers(key, good))
        assert unknown.status_code == 200 and unknown.json()["status"] == "unmatched"


async def test_a_forged_client_state_finds_no_call(
    app_server: AppServer, gql: GraphQL, store_env: dict[str, str]
) -> None:
    """Telnyx's signature vouches for the sender, not for the client_state it echoes: a value we did not tag
    names no call, so a signed event can neither plant a call in another account nor start one in ours."""
    key = dev_key(store_env)
    url = f"{app_server.url}/webhooks/telnyx"
    ours = int(decode((await gql.query("{ account { id } }"))["account"]["id"])[1])
    other = ours + 1  # another tenant: nothing may be written under its keys, whether or not it has a row
    call_id, new_call_id = f"real-{uuid.uuid4().hex}", f"new-{uuid.uuid4().hex}"
    genuine = encode(call_id=call_id, account_id=ours, key=CLIENT_STATE_KEY)
    swapped = orjson.loads(base64.b64decode(genuine)) | {"account_id": other}  # our tag, another account
    foreign_key = b"not the server's client_state key"
    forgeries = [
        base64.b64encode(orjson.dumps({"call_id": call_id, "account_id": other})).decode(),  # the old plain form
        base64.b64encode(orjson.dumps(swapped)).decode(),
        encode(call_id=call_id, account_id=other, key=foreign_key),
        encode(call_id=new_call_id, account_id=ours, key=foreign_key),
    ]

    async def post(http: httpx.AsyncClient, kind: str, state: str, event_id: str) -> httpx.Response:
        # a call_control_id we never dialled, so the fallback lookup by control id finds nothing either
        body = envelope(kind, {"call_control_id": f"v3:{event_id}", "client_state": state,
                               "hangup_cause": "normal_clearing"}, event_id=event_id)
        return await http.post(url, content=body, headers=signed_headers(key, body))

    async with httpx.AsyncClient() as http:
        started = await post(http, "call.initiated", genuine, f"genuine-{call_id}")
        assert started.status_code == 200 and started.json()["status"] == "applied", started.text
        forged_ids = []
        for n, state in enumerate(forgeries):
            for kind in ("call.initiated", "call.hangup"):
                forged_ids.append(event_id := f"forged-{n}-{kind}-{call_id}")
                answer = await post(http, kind, state, event_id)
                assert answer.status_code == 200 and answer.json()["status"] == "unmatched", (n, answer.text)

        with redis.Redis.from_url(store_env["REDIS_URL"], decode_responses=True) as client:
            for account_id, forged in [(other, call_id), (ours, new_call_id)]:
                assert not client.exists(keys.call_state(account_id, forged), keys.call_stream(account_id, forged))
                assert not client.sismember(keys.active_calls(account_id), forged)
            real = orjson.loads(client.get(keys.call_state(ours, call_id)))
            assert real["state"] == "initiated", "no forged hangup reached the real call"
            assert client.sismember(keys.active_calls(ours), call_id)
            kept = client.xrevrange(keys.unmatched_events(), count=200)
            assert set(forged_ids) <= {fields["id"] for _, fields in kept}

        # the genuine value still ends the call, so it leaves the live calls (and is archived like any other)
        ended = await post(http, "call.hangup", genuine, f"genuine-hangup-{call_id}")
        assert ended.status_code == 200 and ended.json()["status"] == "applied", ended.text


async def test_agent_commands_on_a_live_call(app_server: AppServer, gql: GraphQL) -> None:
    """A number ending in 9 stays on the line: speak, transfer, then hang up, each moving the call by webhook."""
    lead = await new_lead(gql, last_digit=9)
    call_id = (await gql.query(START, id=lead))["startCall"]["call"]["id"]
    state = "QUEUED"
    deadline = time.monotonic() + 10
    while state != "ANSWERED" and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        state = (await gql.query("query($id: ID!) { call(id: $id) { state } }", id=call_id))["call"]["state"]
    assert state == "ANSWERED"
    live = await gql.query("query($id: ID!) { lead(id: $id) { liveCall { id } } }", id=lead)
    assert live["lead"]["liveCall"] == {"id": call_id}

    speak = COMMAND.format(args=", $text: String!", name="speak", pass_=", text: $text")
    transfer = COMMAND.format(args=", $to: String!", name="transferCall", pass_=", to: $to")
    hang_up = COMMAND.format(args="", name="hangUpCall", pass_="")
    assert (await gql.query(speak, id=call_id, text="Hello from Switchboard"))["speak"]["__typename"] == "CallPayload"
    bad = (await gql.query(transfer, id=call_id, to="not a number"))["transferCall"]
    assert bad["__typename"] == "ValidationError" and bad["field"] == "to"
    moved = (await gql.query(transfer, id=call_id, to="+14155550100"))["transferCall"]
    assert moved["__typename"] == "CallPayload"
    ready = asyncio.Event()
    watcher = asyncio.create_task(collect_until_end(
        app_server, UPDATES, lambda e: e["call"], {"id": call_id, "after": "0"}, ready, token=gql.token or ""
    ))
    await asyncio.wait_for(ready.wait(), 10)
    await asyncio.sleep(0.5)  # speak and transfer webhooks land before the hangup
    assert (await gql.query(hang_up, id=call_id))["hangUpCall"]["__typename"] == "CallPayload"
    events = await watcher
    types = [e["type"] for e in events]
    assert {"call.speak.started", "call.speak.ended", "call.bridged"} <= set(types)
    assert types[-1] == "call.hangup" and events[-1]["call"]["state"] == "COMPLETED"
    again = (await gql.query(hang_up, id=call_id))["hangUpCall"]
    assert again["__typename"] == "ConflictError" and "already ended" in again["message"]


JSON = json_values(max_leaves=6)  # what orjson writes (tests/voice/test_envelope.py covers the rest)
HOSTILE_FIELDS = ["direction", "from", "to", "result", "hangup_cause", "hangup_source", "digits", "digit",
                  "status", "recording_urls", "call_session_id"]
CALL_STATE = "query($id: ID!) { call(id: $id) { id state live from to answeredBy hangupCause recordingUrl dtmf } }"


def test_signed_events_with_hostile_payloads_never_break_a_call(
    app_server: AppServer, store_env: dict[str, str], auth_headers: dict[str, str]
) -> None:
    """Telnyx's signature vouches for the sender, not for every value: whatever a signed event carries, the
    endpoint answers 200 or 400, and the call it touched still reads back through GraphQL."""
    key = dev_key(store_env)
    with httpx.Client(base_url=app_server.url, timeout=30, headers=auth_headers) as http:
        account = http.post("/graphql", json={"query": "{ account { id } }"}).json()["data"]["account"]["id"]
        account_id = int(decode(account)[1])

        @settings(max_examples=40, deadline=None, derandomize=True, database=None)
        @given(
            kinds=st.lists(st.sampled_from(sorted(HANDLED)), min_size=1, max_size=4),
            payloads=st.lists(st.dictionaries(st.sampled_from(HOSTILE_FIELDS), JSON, max_size=4), min_size=4,
                              max_size=4),
        )
        def post_sequence(kinds: list[str], payloads: list[dict[str, Any]]) -> None:
            call_id = f"hostile-{uuid.uuid4().hex}"
            state = encode(call_id=call_id, account_id=account_id, key=CLIENT_STATE_KEY)
            for kind, payload in zip(kinds, payloads, strict=False):
                body = envelope(kind, {**payload, "call_control_id": f"v3:{call_id}", "client_state": state})
                answer = http.post("/webhooks/telnyx", content=body, headers=signed_headers(key, body))
                assert answer.status_code == 200, (answer.status_code, answer.text)
                assert answer.json()["status"] in ("applied", "duplicate"), answer.text
            read = http.post("/graphql", json={"query": CALL_STATE, "variables": {"id": encode_id("Call", call_id)}})
            assert read.status_code == 200 and "errors" not in read.json(), read.text
            assert read.json()["data"]["call"]["id"] == encode_id("Call", call_id)

        post_sequence()

    # and every call those events ended is archived: the outbox drains, nothing is left to retry forever
    outbox, deadline = keys.archive_outbox(), time.monotonic() + 30
    with redis.Redis.from_url(store_env["REDIS_URL"], decode_responses=True) as client:
        while True:
            [group] = [g for g in client.xinfo_groups(outbox) if g["name"] == ARCHIVERS]
            if group["pending"] == 0 and group["lag"] == 0:
                break
            assert time.monotonic() < deadline, f"the archive outbox does not drain: {group}"
            time.sleep(0.2)

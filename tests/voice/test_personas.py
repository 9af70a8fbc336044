"""The voice agent end to end, one simulated person per last digit: startCall, the simulated carrier answering
the agent's real commands with signed, duplicated and sometimes swapped webhooks into the real endpoint, then
the call's final state, the lead's qualification, do-not-call and follow-up in MongoDB, the transcript in the
call log and in Chroma, the transfer to the on-duty closer, and no command sent twice."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pymongo
import pytest
import redis
from gql import GraphQLRequest

from datasources.redis import keys
from ops.voice import DEV_KEY_FILE
from resolvers.ids import decode
from tests.client import GraphQL
from tests.schema.test_calls import daytime_zone, ws_client
from tests.servers import AppServer, app_client_state_key
from voice.client_state import encode
from voice.signature import load_private_key
from voice.simulator import envelope, signed_headers

_phones = itertools.count(100)
LEAD = """mutation($input: CreateLeadInput!) { createLead(input: $input) { ... on LeadPayload { lead { id } } } }"""
START = """mutation($id: ID!) { startCall(leadId: $id) { __typename ... on CallPayload { call { id } } } }"""
CALL = """query($id: ID!) { call(id: $id) { state live answeredBy agentStep outcome transcript recordingUrl
  qualification { score class via answers } closer { id } } }"""
LEAD_Q = """query($id: ID!) { lead(id: $id) { status score doNotCall nextFollowUpAt consent { call }
  qualification { budget authority need timeline score class via callId }
  calls(first: 5) { edges { node { id state outcome transcript recordingUrl qualification { score class } } } } } }"""
SEARCH = """query($text: String!, $outcome: String) { searchConversations(text: $text, outcome: $outcome, first: 50)
  { score call { id outcome } } }"""


@dataclass(frozen=True)
class Expected:
    state: str
    outcome: str
    cls: str | None = None  # the class the call scored; None: not scored
    status: str | None = None  # the lead's status after the call
    follow_up: bool = True  # a next follow-up is scheduled
    transcript: bool = False  # the call log holds a transcript (transcription or the AI's message history)
    recording: bool = False
    commands: frozenset[str] = frozenset({"dial"})


HUMAN = frozenset({"dial", "record_start", "transcription_start", "gather_using_ai"})
PERSONAS: dict[int, Expected] = {
    1: Expected("COMPLETED", "transferred", "hot", "QUALIFIED", follow_up=False, transcript=True, recording=True,
                commands=HUMAN | {"speak", "transfer"}),
    2: Expected("COMPLETED", "warm", "warm", "NURTURING", transcript=True, recording=True,
                commands=HUMAN | {"speak", "hangup"}),
    3: Expected("COMPLETED", "cold", "cold", "UNQUALIFIED", transcript=True, recording=True,
                commands=HUMAN | {"speak", "hangup"}),
    4: Expected("COMPLETED", "opted_out", follow_up=False, transcript=True, recording=True,
                commands=HUMAN | {"speak", "hangup"}),
    5: Expected("COMPLETED", "warm", "warm", "NURTURING", transcript=True, recording=True,
                commands=HUMAN | {"gather_using_speak", "speak", "hangup"}),
    6: Expected("VOICEMAIL", "voicemail", commands=frozenset({"dial", "speak", "hangup"})),
    7: Expected("BUSY", "busy"),
    8: Expected("NO_ANSWER", "no_answer"),
    # the agent's own hang-up is not a command of the agent (a person's, through hangUpCall)
    9: Expected("COMPLETED", "hung_up", recording=True, commands=HUMAN | {"hangup"}),
    0: Expected("COMPLETED", "hung_up", recording=True, commands=HUMAN),
}


async def eventually(read: Any, done: Any, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await read()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"timed out; last: {value}"
        await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
def redis_client(store_env: dict[str, str]) -> Any:
    client = redis.Redis.from_url(store_env["REDIS_URL"], decode_responses=True)
    yield client
    client.close()


@pytest.mark.parametrize("digit", list(PERSONAS), ids=lambda d: f"ends-in-{d}")
async def test_each_persona_end_to_end(app_gql: GraphQL, redis_client: Any, digit: int) -> None:
    want = PERSONAS[digit]
    gql = app_gql
    account_id = int(decode((await gql.query("{ account { id } }"))["account"]["id"])[1])
    phone = f"+1415557{next(_phones) % 1000:03d}{digit}"
    made = await gql.query(LEAD, input={"firstName": "Persona", "lastName": str(digit), "phone": phone,
                                        "consent": {"call": True}, "timezone": daytime_zone(),
                                        "company": {"name": f"Persona {digit} Ltd"}})
    lead_id = made["createLead"]["lead"]["id"]
    started = (await gql.query(START, id=lead_id))["startCall"]
    assert started["__typename"] == "CallPayload", started
    call_id = started["call"]["id"]

    async def call() -> dict[str, Any]:
        return (await gql.query(CALL, id=call_id))["call"]

    if digit == 9:  # stays on the line, silent: the agent waits; a person hangs up for it
        live = await eventually(call, lambda c: c["agentStep"] == "qualifying")
        assert live["live"] and live["state"] == "ANSWERED"
        hung = await gql.query("mutation($id: ID!) { hangUpCall(callId: $id) { __typename } }", id=call_id)
        assert hung["hangUpCall"]["__typename"] == "CallPayload"
    ended = await eventually(call, lambda c: not c["live"] and c["outcome"] is not None)
    assert (ended["state"], ended["outcome"]) == (want.state, want.outcome), ended
    assert ended["agentStep"] == "ended"
    if want.cls is None:
        assert ended["qualification"] is None
    else:
        assert ended["qualification"]["class"] == want.cls
        assert ended["qualification"]["via"] == ("dtmf" if digit == 5 else "ai")

    # the lead, through the lead write path (MongoDB), once the archive landed (the call log in MongoDB)
    def archived(lead: dict[str, Any]) -> bool:
        edges = lead["calls"]["edges"]
        return bool(edges) and (not want.recording or edges[0]["node"]["recordingUrl"] is not None)

    lead = await eventually(lambda: _lead(gql, lead_id), archived)
    log = lead["calls"]["edges"][0]["node"]
    assert (log["id"], log["state"], log["outcome"]) == (call_id, want.state, want.outcome)
    if want.cls is not None:
        q = lead["qualification"]
        assert (q["class"], q["callId"], lead["status"]) == (want.cls, call_id, want.status)
        assert q["score"] == lead["score"] == ended["qualification"]["score"]
        assert log["qualification"] == {"score": q["score"], "class": want.cls}
        assert None not in (q["budget"], q["authority"], q["need"], q["timeline"])
    assert lead["doNotCall"] is (digit == 4)
    if digit == 4:
        assert lead["consent"]["call"] is False
    assert (lead["nextFollowUpAt"] is not None) is want.follow_up
    if want.transcript:
        assert log["transcript"] and ended["transcript"], log
    if digit == 1:
        closers = (await gql.query("{ users { id onDuty phone } }"))["users"]
        on_duty = [u["id"] for u in closers if u["onDuty"] and u["phone"]]
        assert ended["closer"] is not None and ended["closer"]["id"] in on_duty

    # Chroma `conversations`, with the outcome as metadata
    found = await eventually(
        lambda: gql.query(SEARCH, text="\n".join(log["transcript"]) or "call", outcome=want.outcome),
        lambda d: call_id in [m["call"]["id"] for m in d["searchConversations"]],
    )
    assert all(m["call"]["outcome"] == want.outcome for m in found["searchConversations"])

    # the carrier received each command once, whatever the duplicates and swaps of the webhooks
    raw_id = decode(call_id)[1]
    stored = orjson.loads(redis_client.get(keys.call_state(account_id, raw_id)))
    counts = redis_client.hgetall(keys.simulated_commands(stored["call_control_id"]))
    assert counts and set(counts.values()) == {"1"}, counts
    assert {name.split(":")[0] for name in counts} == want.commands, counts

    # the live view: the dialogue steps are events on the call's stream
    steps = [orjson.loads(f["event"])["type"] for _, f in redis_client.xrange(keys.call_stream(account_id, raw_id))]
    if want.cls is not None:
        assert {"agent.question_asked", "agent.answer_heard", "agent.score_set"} <= set(steps)
    if digit == 1:
        assert "agent.transferred_to" in steps
    if digit == 6:
        assert "agent.voicemail_left" in steps


async def _lead(gql: GraphQL, lead_id: str) -> dict[str, Any]:
    return (await gql.query(LEAD_Q, id=lead_id))["lead"]  # type: ignore[no-any-return]


async def test_facts_after_the_hangup_update_the_archive(
    app_server: AppServer, app_gql: GraphQL, store_env: dict[str, str]
) -> None:
    """A recording and a transcription line that arrive after the call was archived are archived too."""
    account_id = int(decode((await app_gql.query("{ account { id } }"))["account"]["id"])[1])
    call_id = uuid.uuid4().hex
    state = encode(call_id=call_id, account_id=account_id, key=app_client_state_key())
    key = load_private_key((Path(store_env["SWITCHBOARD_DATA_DIR"]) / DEV_KEY_FILE).read_text())
    mongo: Any = pymongo.MongoClient(store_env["MONGODB_URI"], serverSelectionTimeoutMS=5000)
    logs = mongo[store_env["MONGODB_DATABASE"]]["call_logs"]

    async def post(kind: str, **payload: Any) -> None:
        body = envelope(kind, {"call_control_id": f"v3:late-{call_id}", "client_state": state, **payload})
        async with httpx.AsyncClient() as http:
            response = await http.post(f"{app_server.url}/webhooks/telnyx", content=body,
                                       headers=signed_headers(key, body))
        assert response.json()["status"] == "applied", response.text

    async def log() -> dict[str, Any] | None:
        return logs.find_one({"account_id": account_id, "call_id": call_id})  # type: ignore[no-any-return]

    try:
        await post("call.initiated", direction="outgoing")
        await post("call.answered")
        await post("call.hangup", hangup_cause="normal_clearing", hangup_source="caller")
        first = await eventually(log, lambda doc: doc is not None)
        assert first["state"] == "completed" and first["recording_url"] is None and not first["transcript"]
        await post("call.transcription", transcription_data={"transcript": "thanks, bye", "is_final": True,
                                                              "transcription_track": "inbound"})
        await post("call.recording.saved", recording_urls={"mp3": "https://rec.example/late.mp3"})
        late = await eventually(log, lambda doc: doc["recording_url"] and doc["transcript"])
        assert (late["recording_url"], late["transcript"]) == ("https://rec.example/late.mp3", "lead: thanks, bye")
    finally:
        mongo.close()


async def test_a_subscriber_sees_the_dialogue_of_a_hot_lead(app_server: AppServer, app_gql: GraphQL) -> None:
    """The issue's demonstration: subscribed to liveCalls, a call to a number ending in 1 shows the questions,
    the answers (partial, then final), the score and the transfer, each with what it says in `data`."""
    document = "subscription { liveCalls { cursor type data call { id agentStep } } }"
    seen: list[dict[str, Any]] = []
    ready, mine = asyncio.Event(), asyncio.Event()
    call_ids: list[str] = []

    async def listen() -> None:
        async with ws_client(app_server, app_gql.token or "") as session:
            stream = session.subscribe(GraphQLRequest(document))
            ready.set()
            async for result in stream:
                event = result["liveCalls"]
                if call_ids and event["call"]["id"] == call_ids[0]:
                    seen.append(event)
                    if event["type"] == "agent.transferred_to":
                        return

    listening = asyncio.create_task(listen())
    await asyncio.wait_for(ready.wait(), 10)
    await asyncio.sleep(0.3)  # the server registers the subscription
    phone = f"+1415558{next(_phones) % 1000:03d}1"
    made = await app_gql.query(LEAD, input={"firstName": "Hot", "phone": phone, "consent": {"call": True},
                                            "timezone": daytime_zone()})
    started = (await app_gql.query(START, id=made["createLead"]["lead"]["id"]))["startCall"]
    call_ids.append(started["call"]["id"])
    await asyncio.wait_for(listening, 20)
    mine.set()
    kinds = [e["type"] for e in seen]
    assert {"agent.question_asked", "agent.answer_heard", "agent.transcript_line", "agent.score_set",
            "agent.transferred_to"} <= set(kinds), kinds
    answers = [e["data"] for e in seen if e["type"] == "agent.answer_heard"]
    assert any(a["partial"] for a in answers) and any(not a["partial"] for a in answers), answers
    [score] = [e["data"] for e in seen if e["type"] == "agent.score_set"]
    assert score["score"] >= 70 and score["cls"] == "hot"
    [closer] = [e["data"] for e in seen if e["type"] == "agent.transferred_to"]
    assert closer["phone"] and closer["name"]
    assert seen[-1]["call"]["agentStep"] == "transferring"

"""TelnyxCarrier through the real SDK against Prism, which answers from the spec and rejects what breaks it."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from datasources.calls.model import Call, CallEvent
from ops.embedded.ports import free_port
from voice import dialogue
from voice.agent import AgentContext, Closer, Command, Conversation, decide
from voice.carriers.base import Carrier, CarrierError, Dialed
from voice.carriers.telnyx import TelnyxCarrier
from voice.script import DEFAULT_SCRIPT

API_KEY = "KEY0123456789ABCDEF"
CONNECTION_ID = "1494404757140276705"
CLIENT_STATE = "eyJjYWxsX2lkIjogIjQyIn0="
# The example of CallWithRecordingId in the spec, which Prism answers every dial with.
SPEC_CALL = Dialed(
    call_control_id="v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg",
    call_leg_id="2dc6fc34-f9e0-11ea-b68e-02420a0f7768",
    call_session_id="2dc1b3c8-f9e0-11ea-bc5a-02420a0f7768",
)


@dataclass
class Wire:
    """What the SDK put on the wire and what came back, captured by httpx event hooks (Prism echoes nothing)."""

    requests: list[httpx.Request] = field(default_factory=list)
    responses: list[httpx.Response] = field(default_factory=list)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(event_hooks={"request": [self._sent], "response": [self._received]})

    def sent(self) -> list[tuple[str, dict[str, Any]]]:
        return [(request.url.path, json.loads(request.content)) for request in self.requests]

    async def _sent(self, request: httpx.Request) -> None:
        self.requests.append(request)

    async def _received(self, response: httpx.Response) -> None:
        self.responses.append(response)


class Carriers:
    """Opens carriers with their own wire and closes them all at the end of the test."""

    def __init__(self) -> None:
        self.opened: list[Carrier] = []

    def open(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        max_retries: int = 2,
        timeout: float = 10,
    ) -> tuple[Carrier, Wire]:
        wire = Wire()
        carrier: Carrier = TelnyxCarrier(  # typed as the Protocol, so mypy checks that TelnyxCarrier is one
            api_key=API_KEY,
            connection_id=CONNECTION_ID,
            base_url=base_url,
            max_retries=max_retries,
            timeout=timeout,
            default_headers=headers,
            http_client=wire.client(),
        )
        self.opened.append(carrier)
        return carrier, wire


@pytest.fixture
async def carriers() -> AsyncIterator[Carriers]:
    opened = Carriers()
    yield opened
    for carrier in opened.opened:
        await carrier.close()


def command_id() -> str:
    return str(uuid.uuid4())


async def test_dial_returns_the_call_and_sends_the_whole_command(carriers: Carriers, prism_url: str) -> None:
    carrier, wire = carriers.open(prism_url)
    sent_id = command_id()

    dialed = await carrier.dial(to="+18005550100", from_="+18005550101", client_state=CLIENT_STATE, command_id=sent_id)

    assert dialed == SPEC_CALL
    assert wire.sent() == [
        (
            "/calls",
            {
                "connection_id": CONNECTION_ID,
                "to": "+18005550100",
                "from": "+18005550101",
                "client_state": CLIENT_STATE,
                "command_id": sent_id,
                "answering_machine_detection": "premium",
            },
        )
    ]
    assert wire.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


async def test_call_commands_succeed_and_carry_their_command_id(carriers: Carriers, prism_url: str) -> None:
    carrier, wire = carriers.open(prism_url)
    call = SPEC_CALL.call_control_id
    ids = [command_id() for _ in range(3)]

    await carrier.hang_up(call_control_id=call, command_id=ids[0])
    await carrier.transfer(call_control_id=call, to="+18005550199", command_id=ids[1])
    await carrier.speak(call_control_id=call, text="Hello from Switchboard", command_id=ids[2])

    assert wire.sent() == [
        (f"/calls/{call}/actions/hangup", {"command_id": ids[0]}),
        (f"/calls/{call}/actions/transfer", {"to": "+18005550199", "command_id": ids[1]}),
        (
            f"/calls/{call}/actions/speak",
            {"payload": "Hello from Switchboard", "voice": "female", "language": "en-US", "command_id": ids[2]},
        ),
    ]
    assert [response.status_code for response in wire.responses] == [200, 200, 200]


@pytest.mark.parametrize("authorization", [f"Basic {API_KEY}", API_KEY], ids=["basic", "no-scheme"])
async def test_a_request_without_a_bearer_token_is_refused_with_401(
    carriers: Carriers, prism_url: str, authorization: str
) -> None:
    carrier, wire = carriers.open(prism_url, headers={"Authorization": authorization})

    with pytest.raises(CarrierError) as refused:
        await carrier.hang_up(call_control_id=SPEC_CALL.call_control_id, command_id=command_id())

    assert refused.value.status == 401
    assert refused.value.reason
    assert wire.requests[0].headers["authorization"] == authorization
    assert len(wire.requests) == 1, "a refusal is not retried"


def test_an_empty_api_key_is_refused_up_front() -> None:
    with pytest.raises(ValueError, match="TELNYX_API_KEY"):
        TelnyxCarrier(api_key="", connection_id=CONNECTION_ID)


async def test_a_command_that_breaks_the_spec_is_refused_with_422(carriers: Carriers, prism_url: str) -> None:
    carrier, wire = carriers.open(prism_url)

    with pytest.raises(CarrierError) as refused:
        await carrier.speak(
            call_control_id=SPEC_CALL.call_control_id, text="Hola", command_id=command_id(), language="xx-XX"
        )

    assert refused.value.status == 422
    assert refused.value.reason
    # Prism says why in a header; its body is the spec's first 422 example, whatever the cause.
    assert "language must be equal to one of the allowed values" in wire.responses[0].headers["sl-violations"]
    assert len(wire.requests) == 1


async def test_the_reason_comes_from_the_carriers_error_details(carriers: Carriers, prism_url: str) -> None:
    carrier, _ = carriers.open(prism_url, headers={"Prefer": "code=422, example=call_already_ended"})

    with pytest.raises(CarrierError) as refused:
        await carrier.hang_up(call_control_id=SPEC_CALL.call_control_id, command_id=command_id())

    assert (refused.value.status, refused.value.reason) == (
        422,
        "This call is no longer active and can't receive commands.",
    )


async def test_a_server_error_is_retried_with_the_same_command_id_then_raised(
    carriers: Carriers, prism_url: str
) -> None:
    carrier, wire = carriers.open(prism_url, headers={"Prefer": "code=500"}, max_retries=2)
    sent_id = command_id()

    with pytest.raises(CarrierError) as refused:
        await carrier.dial(to="+18005550100", from_="+18005550101", client_state=CLIENT_STATE, command_id=sent_id)

    assert (refused.value.status, refused.value.reason) == (500, "Internal server error")
    assert [body["command_id"] for _, body in wire.sent()] == [sent_id] * 3


async def test_an_unreachable_carrier_is_an_error_without_status(carriers: Carriers) -> None:
    carrier, _ = carriers.open(f"http://127.0.0.1:{free_port()}", max_retries=0)

    with pytest.raises(CarrierError) as refused:
        await carrier.hang_up(call_control_id=SPEC_CALL.call_control_id, command_id=command_id())

    assert refused.value.status is None
    assert refused.value.reason.startswith("Connection error.")


async def test_a_carrier_that_does_not_answer_times_out(carriers: Carriers) -> None:
    held: list[asyncio.StreamWriter] = []

    async def accept_and_stay_silent(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept_and_stay_silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    carrier, _ = carriers.open(f"http://127.0.0.1:{port}", max_retries=0, timeout=0.3)
    try:
        with pytest.raises(CarrierError) as refused:
            await carrier.hang_up(call_control_id=SPEC_CALL.call_control_id, command_id=command_id())
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()

    assert refused.value.status is None
    assert "timed out" in refused.value.reason



def agent_commands() -> list[Command]:
    """Every kind of command the agent sends, with the params it really builds, from two short dialogues."""
    at = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
    call = Call(id="c1", account_id=1, direction="outbound")
    context = AgentContext(lead_summary="Ava Garcia, Summit Freight", closer=Closer(7, "Nora Berg", "+18005550199"))

    def run(events: list[tuple[str, dict[str, Any]]]) -> list[Command]:
        conversation, commands = Conversation(), list[Command]()
        for n, (kind, payload) in enumerate(events):
            event = CallEvent(f"e{n}", kind, at + timedelta(seconds=n), payload)
            decision = decide(call, conversation, event, DEFAULT_SCRIPT, context)
            conversation, commands = decision.conversation, commands + decision.commands
        return commands

    hot = {"budget": "high", "authority": "decision_maker", "need": "strong", "timeline": "this_month",
           "opt_out": False}
    human = ("call.machine.premium.detection.ended", {"result": "human_residence"})
    ai_first = run([human, ("call.ai_gather.ended", {"status": "valid", "result": hot}),
                    ("call.speak.ended", {"status": "completed"})])
    fallback = run([human, ("call.ai_gather.ended", {"status": "invalid", "result": {}})])
    return ai_first + [c for c in fallback if c.kind == "gather_using_speak"]


@pytest.mark.parametrize(
    "kind", ["record_start", "transcription_start", "gather_using_ai", "speak", "transfer", "gather_using_speak"]
)
async def test_each_agent_command_is_accepted_by_the_spec(carriers: Carriers, prism_url: str, kind: str) -> None:
    carrier, wire = carriers.open(prism_url)
    call = SPEC_CALL.call_control_id
    [command] = [c for c in agent_commands() if c.kind == kind]

    await dialogue.send(carrier, call_control_id=call, client_state=CLIENT_STATE, commands=[command])

    [(path, body)] = wire.sent()
    assert path == f"/calls/{call}/actions/{kind}"
    assert (body["command_id"], body["client_state"]) == (command.command_id, CLIENT_STATE)
    expected = dict(command.params)
    assert {k: body[k] for k in expected} == expected
    assert [response.status_code for response in wire.responses] == [200]
    assert "sl-violations" not in wire.responses[0].headers, wire.responses[0].headers["sl-violations"]


async def test_the_agents_hang_up_carries_its_client_state(carriers: Carriers, prism_url: str) -> None:
    carrier, wire = carriers.open(prism_url)
    await carrier.hang_up(call_control_id=SPEC_CALL.call_control_id, command_id="c1/hangup", client_state=CLIENT_STATE)
    assert wire.sent()[0][1] == {"command_id": "c1/hangup", "client_state": CLIENT_STATE}
    assert [response.status_code for response in wire.responses] == [200]

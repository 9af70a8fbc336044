"""The simulated carrier: its disorder never loses an event, and what it posts is signed and complete."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from voice.signature import public_key_of, verify
from voice.simulator import WEBHOOK_PATH, SimulatedCall, SimulatedCarrier, deliveries, disorder, scenario


def call_to(number: str) -> SimulatedCall:
    return SimulatedCall("v3:c", "leg", "session", number, "+15550000000", "state")


@pytest.mark.parametrize("digit", "0156789")
def test_disorder_delivers_every_event_and_duplicates_late(digit: str) -> None:
    sequence = deliveries(scenario(call_to(f"+1555123456{digit}")))
    ids = [event_id for _, _, event_id in sequence]
    for seed in range(300):
        played = [event_id for _, _, event_id in disorder(sequence, random.Random(seed))]
        assert set(played) == set(ids), "no event is dropped"
        assert played[0] == ids[0], "call.initiated opens every call"
        if len(ids) > 2:
            assert len(played) == len(ids) + 1, "exactly one duplicate delivery"
            # first deliveries keep the scenario's order but for at most one swap of neighbours
            first = list(dict.fromkeys(played))
            moved = [i for i, (a, b) in enumerate(zip(first, ids, strict=True)) if a != b]
            assert moved == [] or (len(moved) == 2 and moved[1] == moved[0] + 1), moved


class Capture:
    def __init__(self) -> None:
        self.bodies: list[tuple[dict[str, str], bytes]] = []
        self.app = Starlette(routes=[Route(WEBHOOK_PATH, self.receive, methods=["POST"])])

    async def receive(self, request: Request) -> Response:
        self.bodies.append((dict(request.headers), await request.body()))
        return Response("{}", media_type="application/json")

    def events(self) -> list[dict[str, Any]]:
        return [orjson.loads(body)["data"] for _, body in self.bodies]


@pytest.fixture
async def capture() -> AsyncIterator[tuple[Capture, str]]:
    sink = Capture()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(sink.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield sink, f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def wait_for(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_an_answered_call_posts_its_whole_signed_scenario(capture: tuple[Capture, str]) -> None:
    sink, url = capture
    key = Ed25519PrivateKey.generate()
    carrier = SimulatedCarrier(url, key, pace=0.0, rng=random.Random(7))
    try:
        dialed = await carrier.dial(to="+15551234560", from_="+15550000000", client_state="c3RhdGU=", command_id="1")
        await wait_for(lambda: len(sink.bodies) == 4)  # three events and one duplicate delivery
    finally:
        await carrier.close()
    for headers, body in sink.bodies:
        verify(public_key=public_key_of(key), signature=headers["telnyx-signature-ed25519"],
               timestamp=headers["telnyx-timestamp"], body=body, now=time.time())
    events = sink.events()
    assert {e["payload"]["call_control_id"] for e in events} == {dialed.call_control_id}
    assert {e["payload"]["client_state"] for e in events} == {"c3RhdGU="}
    # then the person waits for the agent's first question (the persona tests in tests/voice/test_personas.py)
    assert {e["event_type"] for e in events} == {"call.initiated", "call.answered",
                                                 "call.machine.premium.detection.ended"}
    assert len({e["id"] for e in events}) == 3


async def test_a_hang_up_command_ends_a_long_call_once(capture: tuple[Capture, str]) -> None:
    sink, url = capture
    carrier = SimulatedCarrier(url, Ed25519PrivateKey.generate(), pace=0.0, long_call_seconds=0.5)
    try:
        dialed = await carrier.dial(to="+15551234569", from_="+15550000000", client_state="s", command_id="1")
        await wait_for(lambda: any(e["event_type"] == "call.machine.premium.detection.ended" for e in sink.events()))
        await carrier.hang_up(call_control_id=dialed.call_control_id, command_id="2")
        await wait_for(lambda: any(e["event_type"] == "call.hangup" for e in sink.events()))
        await asyncio.sleep(0.8)  # past the time limit, whose own hangup must not go out
    finally:
        await carrier.close()
    hangups = [e for e in sink.events() if e["event_type"] == "call.hangup"]
    assert [h["payload"]["hangup_source"] for h in hangups] == ["caller"]

"""A socket's frames sent in one turn go out in one write, framed as websockets frames them, in order; the writer
steps aside where the protocol must send itself, and nothing is written once a close is under way."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

import pytest
import uvicorn
import websockets
from starlette.types import Message, Receive, Scope, Send
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from ops.embedded.ports import free_port
from ops.socket_writer import SocketWriter, attach_writer, writer_of
from tests.servers import AppServer


@dataclass
class FakeConn:
    state: State = State.OPEN
    extensions: list[object] = field(default_factory=list)
    expect_continuation_frame: bool = False


@dataclass
class FakeTransport:
    writes: list[bytes] = field(default_factory=list)
    closing: bool = False

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closing


@dataclass
class FakeProtocol:
    """The parts of uvicorn's websockets-sansio protocol the writer reads."""

    conn: FakeConn = field(default_factory=FakeConn)
    transport: FakeTransport = field(default_factory=FakeTransport)
    writable: asyncio.Event = field(default_factory=asyncio.Event)
    handshake_complete: bool = True
    close_sent: bool = False
    disconnected: bool = False
    initial_response: object = None


def frames_of(*texts: str) -> bytes:
    return b"".join(Frame(Opcode.TEXT, t.encode()).serialize(mask=False, extensions=[]) for t in texts)


async def turn() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_frames_of_one_turn_are_written_together_as_websockets_frames_them() -> None:
    protocol = FakeProtocol()
    protocol.writable.set()
    writer = SocketWriter(protocol, State.OPEN)
    texts = ["{}", "é" * 200, "x" * 70_000]  # the three header sizes
    for text in texts:
        assert await writer.send_text(text)
    assert protocol.transport.writes == []  # nothing until the turn ends
    await turn()
    assert protocol.transport.writes == [frames_of(*texts)]
    assert await writer.send_text("next")
    await turn()
    assert protocol.transport.writes[1:] == [frames_of("next")] and (writer.writes, writer.frames) == (2, 4)


@pytest.mark.parametrize("change", ["extensions", "closing_state", "close_sent"])
async def test_the_writer_steps_aside_after_writing_what_is_pending(change: str) -> None:
    protocol = FakeProtocol()
    protocol.writable.set()
    writer = SocketWriter(protocol, State.OPEN)
    assert await writer.send_text("first")
    if change == "extensions":
        protocol.conn.extensions = ["permessage-deflate"]
        assert not await writer.send_text("second")  # `send` carries it, after "first"
        assert protocol.transport.writes == [frames_of("first")]
    else:
        if change == "closing_state":
            protocol.conn.state = State.CLOSING
        else:
            protocol.close_sent = True
        assert not await writer.send_text("second")
        await turn()
        assert protocol.transport.writes == []  # frames after a close would be refused by the protocol too


async def test_a_gone_peer_raises_and_a_full_buffer_waits() -> None:
    protocol = FakeProtocol()
    writer = SocketWriter(protocol, State.OPEN)
    waiting = asyncio.ensure_future(writer.send_text("later"))
    await turn()
    assert not waiting.done()  # over the high-water mark: waits as uvicorn's send does
    protocol.writable.set()
    assert await waiting
    protocol.disconnected = True
    with pytest.raises(ConnectionError):
        await writer.send_text("gone")


async def test_many_subscriptions_on_one_socket_each_get_their_frames(app_server: AppServer, owner_token: str) -> None:
    """Over a real server: the frames written together still arrive as whole messages, each to its id."""
    async with websockets.connect(app_server.ws, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {owner_token}"}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        ids = [str(n) for n in range(20)]
        for op_id in ids:
            await ws.send(json.dumps({"id": op_id, "type": "subscribe",
                                      "payload": {"query": "query { __typename }"}}))
        got: dict[str, list[str]] = {}
        while sum(len(v) for v in got.values()) < 2 * len(ids):
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            got.setdefault(message["id"], []).append(message["type"])
        assert got == {op_id: ["next", "complete"] for op_id in ids}


@pytest.mark.parametrize("deflate", [False, True])
async def test_under_uvicorn_a_turns_frames_go_out_in_one_write_and_the_close_after_them(deflate: bool) -> None:
    """The middleware finds uvicorn's websockets-sansio protocol behind `send`, as `switchboard serve` runs it;
    with permessage-deflate negotiated the writer steps aside and `send` compresses each message as before."""
    writers: list[SocketWriter] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            return
        writer = writer_of(scope)
        assert writer is not None
        writers.append(writer)
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        for n in range(3):
            text = json.dumps({"n": n})
            if not await writer.send_text(text):
                await send({"type": "websocket.send", "text": text})
        await send({"type": "websocket.close", "code": 1000})  # after the frames still pending

    async def served(scope: Scope, receive: Receive, send: Send) -> None:  # as the edge (ops/edge.py) serves it
        writer = attach_writer(scope, send)

        async def after_pending(message: Message) -> None:
            if writer is not None:
                writer.flush()
            await send(message)

        await app(scope, receive, after_pending)

    config = uvicorn.Config(served, host="127.0.0.1", port=free_port(), ws="websockets-sansio",
                            ws_per_message_deflate=deflate, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with websockets.connect(f"ws://127.0.0.1:{config.port}/") as ws:
            got = [json.loads(message) async for message in ws]
        assert got == [{"n": 0}, {"n": 1}, {"n": 2}] and ws.close_code == 1000
        assert (writers[0].writes, writers[0].frames) == ((0, 0) if deflate else (1, 3))
    finally:
        server.should_exit = True
        await serving

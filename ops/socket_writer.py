"""A socket's text frames written together: what the app sends on one WebSocket within one turn of the event loop
goes out in one write, one system call, rather than one each.

An event wakes every subscription it goes to in the same turn, and each sent its frame through Starlette, the
middlewares' wrappers of `send` and uvicorn's protocol, down to a write of its own: with 50 subscriptions on a
socket, 50 writes where one does. The edge (ops/edge.py, `attach_writer`) finds the server's protocol behind
`send` (uvicorn's websockets-sansio, which `switchboard serve` and the workers run) and puts a `SocketWriter` in
the scope; the socket adapter (ops/hardening.py) hands it every message. The writer frames a text message
itself (a server's frame is unmasked: a 2 to 10 byte header, then the UTF-8 text, as websockets'
`Frame.serialize` writes it) and writes what is pending, in the order it was sent, from a callback at the next
turn.

It steps aside, and the message goes through `send` as before (after anything pending), where it would not do
what the protocol does: another server or protocol, an extension negotiated (permessage-deflate), a connection
no longer open. It waits, as uvicorn's `send` does, while the transport's buffer is over its high-water mark.
Anything the app sends through `send` (a close among them) writes the pending frames first. Frames pending when
the peer or the server itself starts closing the socket are dropped, as the protocol refuses any frame after
its close.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Scope, Send

SCOPE_KEY = "switchboard.socket_writer"


def _header(size: int) -> bytes:
    if size < 126:
        return bytes((0x81, size))
    if size < 1 << 16:
        return b"\x81\x7e" + size.to_bytes(2, "big")
    return b"\x81\x7f" + size.to_bytes(8, "big")


class SocketWriter:
    __slots__ = ("_protocol", "_open", "_pending", "_loop", "_scheduled", "writes", "frames")

    def __init__(self, protocol: Any, open_state: Any) -> None:
        self._protocol = protocol
        self._open = open_state
        self._pending: list[bytes] = []
        self._loop = asyncio.get_running_loop()
        self._scheduled = False
        self.writes = 0  # system writes made, and frames they carried: what the tests count
        self.frames = 0

    def _open_now(self) -> bool:
        protocol = self._protocol
        return (protocol.handshake_complete and not protocol.close_sent and not protocol.disconnected
                and protocol.initial_response is None and protocol.conn.state is self._open
                and not protocol.transport.is_closing())

    def _usable(self) -> bool:
        conn = self._protocol.conn
        return self._open_now() and not conn.extensions and not conn.expect_continuation_frame

    async def send_text(self, text: str) -> bool:
        """Queues `text` as one frame; False when `send` must carry it instead (anything pending written first).
        Raises ConnectionError once the peer is gone, as `send` does."""
        protocol = self._protocol
        if not protocol.writable.is_set():
            await protocol.writable.wait()
        if protocol.disconnected:
            self._pending.clear()
            raise ConnectionError("the WebSocket is closed")
        if not self._usable():
            self.flush()
            return False
        data = text.encode()
        self._pending.append(_header(len(data)))
        self._pending.append(data)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)
        return True

    def flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        if not self._open_now():
            return  # a close is under way: the protocol would refuse these frames too
        self._protocol.transport.write(b"".join(pending))
        self.writes += 1
        self.frames += len(pending) // 2


def writer_of(scope: Scope) -> SocketWriter | None:
    writer: SocketWriter | None = scope.get(SCOPE_KEY)
    return writer


def attach_writer(scope: Scope, send: Send) -> SocketWriter | None:
    """A WebSocket served by uvicorn's websockets-sansio protocol gets a `SocketWriter` in its scope; `send` must
    be the server's own (ops/edge.py calls this first). Whatever the app then sends through `send` itself (its
    accept, a close, a message the writer left to it) must go after the frames the writer holds: the caller
    flushes the writer before each."""
    protocol = getattr(send, "__self__", None) if scope["type"] == "websocket" else None
    if protocol is None or not _is_sansio(protocol):
        return None
    from websockets.protocol import State

    writer = scope[SCOPE_KEY] = SocketWriter(protocol, State.OPEN)
    return writer


def _is_sansio(protocol: object) -> bool:
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    except ImportError:  # pragma: no cover - uvicorn without websockets
        return False
    return isinstance(protocol, WebSocketsSansIOProtocol)

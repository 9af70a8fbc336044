"""What the call service needs from a carrier: plain values in and out, one error type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class CarrierError(Exception):
    """A command the carrier refused (`status` is its HTTP status) or could not take (`status` is None)."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(f"{status}: {reason}" if status is not None else reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Dialed:
    call_control_id: str
    call_leg_id: str | None
    call_session_id: str | None


class Carrier(Protocol):
    """Every command takes a fresh `command_id` (a uuid4) from the caller.

    The carrier drops a repeated command id (Telnyx: within 60 s), so a retry of the same command, by the SDK or
    by the caller, never acts twice. `client_state` is already base64; the carrier echoes it in every webhook.
    """

    async def dial(self, *, to: str, from_: str, client_state: str, command_id: str) -> Dialed: ...

    async def hang_up(self, *, call_control_id: str, command_id: str) -> None: ...

    async def transfer(self, *, call_control_id: str, to: str, command_id: str) -> None: ...

    async def speak(
        self, *, call_control_id: str, text: str, command_id: str, voice: str = "female", language: str = "en-US"
    ) -> None: ...

    async def close(self) -> None: ...

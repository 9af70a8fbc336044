"""What the call service needs from a carrier: plain values in and out, one error type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


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
    """Every command takes a `command_id` from the caller: a fresh uuid4 for a person's command, the agent's
    deterministic id (voice/agent.py: call and step) for the agent's.

    The carrier drops a repeated command id (Telnyx: within 60 s), so a retry of the same command, by the SDK or
    by the caller, or the same decision taken by two replicas, never acts twice. `client_state` is already
    base64; the carrier echoes it in every webhook that command causes. The agent's commands are dialled with
    premium answering-machine detection, and each agent command kind (`voice.agent.Command.kind`) has its
    method, named after it, taking the command's `params` as keywords.
    """

    async def dial(self, *, to: str, from_: str, client_state: str, command_id: str) -> Dialed: ...

    async def hang_up(self, *, call_control_id: str, command_id: str, client_state: str | None = None) -> None: ...

    async def transfer(
        self, *, call_control_id: str, to: str, command_id: str, client_state: str | None = None,
        from_display_name: str | None = None, audio_url: str | None = None,
    ) -> None: ...

    async def speak(
        self, *, call_control_id: str, text: str, command_id: str, voice: str = "female", language: str = "en-US",
        client_state: str | None = None,
    ) -> None: ...

    async def gather_using_ai(
        self, *, call_control_id: str, command_id: str, parameters: dict[str, Any], client_state: str | None = None,
        greeting: str | None = None, send_partial_results: bool = False, send_message_history_updates: bool = False,
        user_response_timeout_ms: int | None = None,
    ) -> None: ...

    async def gather_using_speak(
        self, *, call_control_id: str, command_id: str, payload: str, voice: str = "female", language: str = "en-US",
        client_state: str | None = None, invalid_payload: str | None = None, valid_digits: str | None = None,
        minimum_digits: int | None = None, maximum_digits: int | None = None,
    ) -> None: ...

    async def record_start(
        self, *, call_control_id: str, command_id: str, format: str = "mp3", channels: str = "dual",
        client_state: str | None = None,
    ) -> None: ...

    async def transcription_start(
        self, *, call_control_id: str, command_id: str, transcription_tracks: str = "both",
        client_state: str | None = None,
    ) -> None: ...

    async def close(self) -> None: ...

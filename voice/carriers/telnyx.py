"""Telnyx Call Control through the official SDK's `AsyncTelnyx`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

import httpx
import telnyx

from voice.carriers.base import CarrierError, Dialed

DEFAULT_BASE_URL = "https://api.telnyx.com/v2"


class TelnyxCarrier:
    """`connection_id` is the Call Control application id (TELNYX_APP_ID) that dials out.

    The SDK retries timeouts, 408/409/429 and 5xx (`max_retries` times, same body, no idempotency header): the
    `command_id` in every body is what makes those retries safe. `default_headers` and `http_client` are hatches
    for tests (e.g. Prism's `Prefer`, request capture); the carrier owns `http_client` and closes it.
    """

    def __init__(
        self,
        *,
        api_key: str,
        connection_id: str,
        base_url: str | None = None,
        max_retries: int = 2,
        timeout: float = 10,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        # An empty key would go out as "Bearer ", which httpx refuses to send: every command would fail, after
        # the retries, as a "connection error".
        if not api_key:
            raise ValueError("TelnyxCarrier needs an API key (TELNYX_API_KEY)")
        self._connection_id = connection_id
        # Every credential is given explicitly, even when empty: left as None, the SDK would read TELNYX_* from
        # the environment, and settings are the one source of configuration.
        self._client = telnyx.AsyncTelnyx(
            api_key=api_key,
            public_key="",
            client_id="",
            client_secret="",
            base_url=base_url or DEFAULT_BASE_URL,
            max_retries=max_retries,
            timeout=timeout,
            default_headers=default_headers,
            http_client=http_client,
        )

    async def dial(self, *, to: str, from_: str, client_state: str, command_id: str) -> Dialed:
        with _refusals():
            response = await self._client.calls.dial(
                connection_id=self._connection_id,
                to=to,
                from_=from_,
                client_state=client_state,
                command_id=command_id,
                answering_machine_detection="premium",
            )
        if response.data is None:
            raise CarrierError("the dial response carried no call")
        return Dialed(
            call_control_id=response.data.call_control_id,
            call_leg_id=response.data.call_leg_id,
            call_session_id=response.data.call_session_id,
        )

    async def hang_up(self, *, call_control_id: str, command_id: str, client_state: str | None = None) -> None:
        with _refusals():
            await self._client.calls.actions.hangup(
                call_control_id, command_id=command_id, **_given(client_state=client_state)
            )

    async def transfer(
        self,
        *,
        call_control_id: str,
        to: str,
        command_id: str,
        client_state: str | None = None,
        from_display_name: str | None = None,
        audio_url: str | None = None,
    ) -> None:
        optional = _given(client_state=client_state, from_display_name=from_display_name, audio_url=audio_url)
        with _refusals():
            await self._client.calls.actions.transfer(call_control_id, to=to, command_id=command_id, **optional)

    async def speak(
        self,
        *,
        call_control_id: str,
        text: str,
        command_id: str,
        voice: str = "female",
        language: str = "en-US",
        client_state: str | None = None,
    ) -> None:
        with _refusals():
            await self._client.calls.actions.speak(
                call_control_id,
                payload=text,
                voice=voice,
                # The SDK types `language` as a Literal of today's list; Telnyx itself refuses an unknown one (422).
                language=cast(Any, language),
                command_id=command_id,
                **_given(client_state=client_state),
            )

    async def gather_using_ai(
        self,
        *,
        call_control_id: str,
        command_id: str,
        parameters: dict[str, Any],
        client_state: str | None = None,
        greeting: str | None = None,
        send_partial_results: bool = False,
        send_message_history_updates: bool = False,
        user_response_timeout_ms: int | None = None,
    ) -> None:
        optional = _given(
            client_state=client_state, greeting=greeting, user_response_timeout_ms=user_response_timeout_ms
        )
        with _refusals():
            await self._client.calls.actions.gather_using_ai(
                call_control_id,
                parameters=parameters,
                command_id=command_id,
                send_partial_results=send_partial_results,
                send_message_history_updates=send_message_history_updates,
                **optional,
            )

    async def gather_using_speak(
        self,
        *,
        call_control_id: str,
        command_id: str,
        payload: str,
        voice: str = "female",
        language: str = "en-US",
        client_state: str | None = None,
        invalid_payload: str | None = None,
        valid_digits: str | None = None,
        minimum_digits: int | None = None,
        maximum_digits: int | None = None,
    ) -> None:
        optional = _given(
            client_state=client_state,
            invalid_payload=invalid_payload,
            valid_digits=valid_digits,
            minimum_digits=minimum_digits,
            maximum_digits=maximum_digits,
        )
        with _refusals():
            await self._client.calls.actions.gather_using_speak(
                call_control_id,
                payload=payload,
                voice=voice,
                language=cast(Any, language),
                command_id=command_id,
                **optional,
            )

    async def record_start(
        self,
        *,
        call_control_id: str,
        command_id: str,
        format: str = "mp3",
        channels: str = "dual",
        client_state: str | None = None,
    ) -> None:
        with _refusals():
            await self._client.calls.actions.start_recording(
                call_control_id,
                format=cast(Any, format),
                channels=cast(Any, channels),
                command_id=command_id,
                **_given(client_state=client_state),
            )

    async def transcription_start(
        self,
        *,
        call_control_id: str,
        command_id: str,
        transcription_tracks: str = "both",
        client_state: str | None = None,
    ) -> None:
        with _refusals():
            await self._client.calls.actions.start_transcription(
                call_control_id,
                transcription_tracks=transcription_tracks,
                command_id=command_id,
                **_given(client_state=client_state),
            )

    async def close(self) -> None:
        await self._client.close()


def _given(**optional: Any) -> dict[str, Any]:
    """The optional arguments that have a value: the SDK leaves an omitted one out of the body."""
    return {name: value for name, value in optional.items() if value is not None}


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except telnyx.APIStatusError as error:
        raise CarrierError(_reason(error), status=error.status_code) from error
    except telnyx.APIError as error:  # connection errors and timeouts, after the SDK's retries
        cause = f" ({error.__cause__})" if error.__cause__ and str(error.__cause__) else ""
        raise CarrierError(f"{error.message}{cause}") from error


def _reason(error: telnyx.APIStatusError) -> str:
    """Telnyx's `errors[].detail` (else `.title`), joined; the SDK's message when the body has none."""
    body = error.body
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list):
        details = [str(text) for e in errors if isinstance(e, dict) and (text := e.get("detail") or e.get("title"))]
        if details:
            return "; ".join(details)
    return error.message

"""`switchboard simulate`: drive a running server's real webhook endpoint by hand, signed with the dev key."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Annotated

import httpx
import typer

from ops.secrets import client_state_key
from ops.settings import Settings
from ops.voice import DEV_KEY_FILE
from voice.client_state import encode
from voice.signature import load_private_key
from voice.simulator import WEBHOOK_PATH, envelope, signed_headers

app = typer.Typer(help="Post signed Telnyx webhooks to a running server (development key from the data folder).")

Url = Annotated[str, typer.Option(help="The server's base URL.")]
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="The server's data folder (holds the dev keys and secrets).")
]


def _raw(global_id: str, expected: str) -> str:
    try:
        kind, _, key = base64.urlsafe_b64decode(global_id + "=" * (-len(global_id) % 4)).decode().partition(":")
    except ValueError:
        kind, key = "", ""
    if kind != expected or not key:
        raise typer.BadParameter(f"{global_id!r} is not a {expected} id")
    return key


Token = Annotated[str, typer.Option(
    envvar="SWITCHBOARD_TOKEN", help="An access token or API key of the account (signIn gives one).",
)]


def _graphql(url: str, token: str, query: str, **variables: object) -> dict:
    if not token:
        raise typer.BadParameter("give --token (or SWITCHBOARD_TOKEN): an access token or API key")
    response = httpx.post(f"{url}/graphql", json={"query": query, "variables": variables}, timeout=30,
                          headers={"authorization": f"Bearer {token}"})
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise typer.BadParameter(f"the server answered {response.status_code}: {body.get('errors') or body}")
    return body["data"]


@app.command()
def webhook(
    call_id: Annotated[str, typer.Argument(help="The call's global id (from startCall or activeCalls).")],
    event_type: Annotated[str, typer.Argument(help="e.g. call.answered, call.hangup, call.dtmf.received")],
    field: Annotated[list[str] | None, typer.Option("--field", "-f", help="payload key=value, repeatable")] = None,
    event_id: Annotated[str | None, typer.Option(help="Reuse an id to see de-duplication.")] = None,
    times: Annotated[int, typer.Option(help="Post the same signed event this many times.")] = 1,
    url: Url = "http://127.0.0.1:8000",
    data_dir: DataDir = None,
    token: Token = "",
) -> None:
    """Post one signed event for a call, e.g. `simulate webhook <id> call.hangup -f hangup_cause=user_busy`.

    Its client_state is tagged with the server's key: run it with the server's JWT_SECRET / CLIENT_STATE_SECRET
    (environment or .env), or with neither for a development server that keeps its secret in the data folder."""
    settings = Settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    key_path = settings.data_dir / DEV_KEY_FILE
    if not key_path.exists():
        raise typer.BadParameter(f"no development key at {key_path}: start the server once, or pass --data-dir")
    account = _graphql(url, token, "{ account { id } }")["account"]
    if account is None:
        raise typer.BadParameter("the server has no account yet")
    payload: dict[str, object] = {}
    for item in field or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"--field {item!r}: write key=value")
        payload[name] = value
    payload.setdefault("call_control_id", f"v3:manual-{uuid.uuid4().hex[:8]}")
    try:
        state_key = client_state_key(settings)
    except ValueError as exc:  # production settings without JWT_SECRET
        raise typer.BadParameter(str(exc)) from exc
    payload["client_state"] = encode(
        call_id=_raw(call_id, "Call"), account_id=int(_raw(account["id"], "Account")), key=state_key
    )
    body = envelope(event_type, payload, event_id=event_id or str(uuid.uuid4()))
    private_key = load_private_key(key_path.read_text())
    for _ in range(times):
        response = httpx.post(url + WEBHOOK_PATH, content=body, headers=signed_headers(private_key, body), timeout=30)
        typer.echo(f"{response.status_code} {response.text}")


@app.command()
def call(
    lead_id: Annotated[str, typer.Argument(help="The lead's global id.")],
    url: Url = "http://127.0.0.1:8000",
    token: Token = "",
) -> None:
    """Start a call to a lead through the API; the simulated carrier then plays its webhooks."""
    data = _graphql(
        url,
        token,
        "mutation($id: ID!) { startCall(leadId: $id) { __typename ... on CallPayload { call { id state } } "
        "... on CallRefusedError { message } ... on NotFoundError { message } "
        "... on StoreUnavailableError { message } } }",
        id=lead_id,
    )["startCall"]
    typer.echo(data)

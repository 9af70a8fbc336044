"""Sessions over real HTTP and WebSocket: sign-in, lockout, refresh rotation and reuse, sign-out, password
changes, invitations, deactivation and API keys, and subscriptions that end with their session."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
import redis
import websockets

from datasources.redis import keys
from resolvers.identity.config import AuthConfig
from resolvers.identity.tokens import issue_access_token
from tests.client import SIGN_IN, GraphQL, sign_in
from tests.servers import TEST_JWT_SECRET, AppServer

PAYLOAD = """__typename ... on SignInPayload { accessToken refreshToken accessTokenExpiresAt user { id role } }
... on UserError { message } ... on TooManyAttemptsError { retryAfterSeconds }"""
SIGN_IN_FULL = "mutation($email: String!, $password: String!) { signIn(email: $email, password: $password) { " \
    + PAYLOAD + " } }"
REFRESH = "mutation($t: String!) { refreshSession(refreshToken: $t) { " + PAYLOAD + " } }"
INVITE = """mutation($email: String!, $role: Role!) { inviteUser(email: $email, role: $role) { __typename
  ... on InvitePayload { token invite { email role } } ... on UserError { message } } }"""
ACCEPT = "mutation($t: String!, $p: String!) { acceptInvite(token: $t, fullName: \"New Person\", password: $p) { " \
         + PAYLOAD + " } }"
PASSWORD = "a sound passphrase"
LIVE = "subscription { liveCalls { cursor type } }"


async def post(app: AppServer, query: str, token: str | None = None, **variables: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=60) as http:
        return await http.post(app.graphql, json={"query": query, "variables": variables}, headers=headers)


async def new_user(app: AppServer, owner: GraphQL, role: str = "AGENT") -> tuple[str, dict[str, Any]]:
    """Invites and accepts a fresh user: (email, their first signIn payload)."""
    email = f"user-{uuid.uuid4().hex[:10]}@identity.example"
    invited = (await owner.query(INVITE, email=email, role=role))["inviteUser"]
    assert invited["__typename"] == "InvitePayload", invited
    accepted = (await post(app, ACCEPT, t=invited["token"], p=PASSWORD)).json()["data"]["acceptInvite"]
    assert accepted["__typename"] == "SignInPayload", accepted
    return email, accepted


async def test_anonymous_callers_get_401_except_for_sign_in(app_server: AppServer) -> None:
    response = await post(app_server, "{ leads(first: 1) { edges { cursor } } }")
    assert response.status_code == 401
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED" and "sign in" in error["message"]
    assert (await post(app_server, "{ me { role } }", token="garbage")).status_code == 401
    wrong = await post(app_server, SIGN_IN, email="nobody@nowhere.example", password="whatever it is")
    assert wrong.status_code == 200 and wrong.json()["data"]["signIn"]["__typename"] == "AuthenticationError"


async def test_unknown_email_and_wrong_password_answer_alike(app_server: AppServer, app_gql: GraphQL) -> None:
    email, _ = await new_user(app_server, app_gql)
    answers = []
    for who in (email, f"ghost-{uuid.uuid4().hex[:6]}@identity.example"):
        body = (await post(app_server, SIGN_IN, email=who, password="not the password")).json()
        answers.append(body["data"]["signIn"])
    assert answers[0] == answers[1] and answers[0]["__typename"] == "AuthenticationError"


async def test_five_failures_lock_the_email(app_server: AppServer, app_gql: GraphQL) -> None:
    email, _ = await new_user(app_server, app_gql)
    kinds = []
    for _ in range(6):
        body = (await post(app_server, SIGN_IN_FULL, email=email, password="not the password")).json()
        kinds.append(body["data"]["signIn"]["__typename"])
    assert kinds == ["AuthenticationError"] * 4 + ["TooManyAttemptsError"] * 2
    locked = (await post(app_server, SIGN_IN_FULL, email=email, password=PASSWORD)).json()["data"]["signIn"]
    assert locked["__typename"] == "TooManyAttemptsError" and locked["retryAfterSeconds"] > 800


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(app_server: AppServer, app_gql: GraphQL) -> None:
    _, first = await new_user(app_server, app_gql)
    second = (await post(app_server, REFRESH, t=first["refreshToken"])).json()["data"]["refreshSession"]
    assert second["__typename"] == "SignInPayload" and second["refreshToken"] != first["refreshToken"]
    third = (await post(app_server, REFRESH, t=second["refreshToken"])).json()["data"]["refreshSession"]
    assert third["__typename"] == "SignInPayload"
    assert (await post(app_server, "{ me { role } }", token=third["accessToken"])).status_code == 200
    # the first token again: a thief or a replay; the whole family ends, the newest pair included
    reused = (await post(app_server, REFRESH, t=first["refreshToken"])).json()["data"]["refreshSession"]
    assert reused["__typename"] == "AuthenticationError" and "already used" in reused["message"]
    gone = (await post(app_server, REFRESH, t=third["refreshToken"])).json()["data"]["refreshSession"]
    assert gone["__typename"] == "AuthenticationError"
    after = await post(app_server, "{ me { role } }", token=third["accessToken"])
    assert after.status_code == 401 and "signed out" in after.json()["errors"][0]["message"]


async def test_sign_out_and_sign_out_everywhere(app_server: AppServer, app_gql: GraphQL) -> None:
    email, one = await new_user(app_server, app_gql)
    two = sign_in(app_server.graphql, email, PASSWORD)
    out = await post(app_server, "mutation { signOut { __typename } }", token=one["accessToken"])
    assert out.json()["data"]["signOut"]["__typename"] == "SignOutPayload"
    assert (await post(app_server, "{ me { role } }", token=one["accessToken"])).status_code == 401
    assert (await post(app_server, "{ me { role } }", token=two["accessToken"])).status_code == 200
    await post(app_server, "mutation { signOut(everywhere: true) { __typename } }", token=two["accessToken"])
    assert (await post(app_server, "{ me { role } }", token=two["accessToken"])).status_code == 401
    refreshed = (await post(app_server, REFRESH, t=two["refreshToken"])).json()["data"]["refreshSession"]
    assert refreshed["__typename"] == "AuthenticationError"


async def test_change_password_ends_other_sessions(app_server: AppServer, app_gql: GraphQL) -> None:
    email, old = await new_user(app_server, app_gql)
    change = """mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) { """ \
             + PAYLOAD + " } }"
    wrong = (await post(app_server, change, token=old["accessToken"], c="nope", n="another passphrase"))
    assert wrong.json()["data"]["changePassword"]["__typename"] == "ValidationError"
    fresh = (await post(app_server, change, token=old["accessToken"], c=PASSWORD, n="another passphrase")).json()
    assert fresh["data"]["changePassword"]["__typename"] == "SignInPayload"
    assert (await post(app_server, "{ me { role } }", token=old["accessToken"])).status_code == 401
    token = fresh["data"]["changePassword"]["accessToken"]
    assert (await post(app_server, "{ me { role } }", token=token)).status_code == 200
    assert sign_in(app_server.graphql, email, "another passphrase")["user"]["role"] == "AGENT"


async def test_session_marks_redis_lost_are_read_back_from_postgresql(
    app_server: AppServer, app_gql: GraphQL, store_env: dict[str, str]
) -> None:
    """An HTTP operation checks its session in the round trip that takes its budget; when Redis has no copy of the
    marks, nothing is taken there, and the record in PostgreSQL decides, and is copied back."""
    _, session = await new_user(app_server, app_gql)
    claims = jwt.decode(session["accessToken"], options={"verify_signature": False})
    epoch_key = keys.session_epoch(int(claims["sub"]))
    with redis.Redis.from_url(store_env["REDIS_URL"], decode_responses=True) as client:
        client.delete(epoch_key)
        fine = await post(app_server, "{ me { role } }", token=session["accessToken"])
        assert fine.status_code == 200 and fine.json()["data"]["me"]["role"] == "AGENT"
        assert fine.json()["extensions"]["cost"]["throttleStatus"] is not None  # the budget was still taken
        assert client.get(epoch_key) == str(claims["sv"])
        out = await post(app_server, "mutation { signOut(everywhere: true) { __typename } }",
                         token=session["accessToken"])
        assert out.json()["data"]["signOut"]["__typename"] == "SignOutPayload"
        client.delete(epoch_key)
        ended = await post(app_server, "{ me { role } }", token=session["accessToken"])
        assert ended.status_code == 401 and "session has ended" in ended.json()["errors"][0]["message"]
        assert client.get(epoch_key) == str(claims["sv"] + 1)


async def test_an_ended_session_cannot_keep_a_persisted_query(app_server: AppServer, app_gql: GraphQL) -> None:
    _, session = await new_user(app_server, app_gql)
    await post(app_server, "mutation { signOut { __typename } }", token=session["accessToken"])
    query = f"{{ me {{ role }} unique_{uuid.uuid4().hex}: __typename }}"
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(query.encode()).hexdigest()}}
    async with httpx.AsyncClient(timeout=60) as http:
        headers = {"authorization": f"Bearer {session['accessToken']}"}
        sent = await http.post(app_server.graphql, json={"query": query, "extensions": persisted}, headers=headers)
        assert sent.status_code == 401 and "signed out" in sent.json()["errors"][0]["message"]
        fresh = sign_in(app_server.graphql, await email_of(app_gql, session["user"]["id"]), PASSWORD)
        by_hash = await http.post(app_server.graphql, json={"extensions": persisted},
                                  headers={"authorization": f"Bearer {fresh['accessToken']}"})
    assert by_hash.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_an_invitation_is_spent_once(app_server: AppServer, app_gql: GraphQL) -> None:
    email = f"once-{uuid.uuid4().hex[:8]}@identity.example"
    token = (await app_gql.query(INVITE, email=email, role="VIEWER"))["inviteUser"]["token"]
    assert (await post(app_server, ACCEPT, t=token, p=PASSWORD)).json()["data"]["acceptInvite"]["user"]["role"] \
        == "VIEWER"
    again = (await post(app_server, ACCEPT, t=token, p=PASSWORD)).json()["data"]["acceptInvite"]
    assert again["__typename"] == "ValidationError"


async def test_deactivation_and_role_changes_end_sessions_at_once(app_server: AppServer, app_gql: GraphQL) -> None:
    _, session = await new_user(app_server, app_gql)
    user_id = session["user"]["id"]
    role = """mutation($id: ID!) { updateUserRole(userId: $id, role: MANAGER) { __typename
      ... on UserPayload { user { role } } } }"""
    assert (await app_gql.query(role, id=user_id))["updateUserRole"]["user"]["role"] == "MANAGER"
    assert (await post(app_server, "{ me { role } }", token=session["accessToken"])).status_code == 401
    renewed = (await post(app_server, REFRESH, t=session["refreshToken"])).json()["data"]["refreshSession"]
    assert renewed["__typename"] == "AuthenticationError"
    session = sign_in(app_server.graphql, await email_of(app_gql, user_id), PASSWORD)
    assert session["user"]["role"] == "MANAGER"
    deactivate = """mutation($id: ID!) { deactivateUser(userId: $id) { __typename
      ... on UserPayload { user { active } } } }"""
    assert (await app_gql.query(deactivate, id=user_id))["deactivateUser"]["user"]["active"] is False
    after = await post(app_server, "{ me { role } }", token=session["accessToken"])
    assert after.status_code == 401 and "deactivated" in after.json()["errors"][0]["message"]
    again = (await post(app_server, SIGN_IN, email=await email_of(app_gql, user_id), password=PASSWORD)).json()
    assert again["data"]["signIn"]["__typename"] == "AuthenticationError"


async def test_deactivation_revokes_the_api_keys_the_user_made(app_server: AppServer, app_gql: GraphQL) -> None:
    _, admin = await new_user(app_server, app_gql, role="ADMIN")
    make = """mutation { createApiKey(name: "their sync", role: VIEWER) { __typename
      ... on ApiKeyCreatedPayload { key apiKey { id } } } }"""
    theirs = (await post(app_server, make, token=admin["accessToken"])).json()["data"]["createApiKey"]["key"]
    ours = (await app_gql.query(make))["createApiKey"]["key"]
    for key in (theirs, ours):
        assert (await post(app_server, "{ me { role } }", token=key)).status_code == 200
    await app_gql.query("mutation($id: ID!) { deactivateUser(userId: $id) { __typename } }", id=admin["user"]["id"])
    refused = await post(app_server, "{ me { role } }", token=theirs)
    assert refused.status_code == 401 and "revoked" in refused.json()["errors"][0]["message"]
    assert (await post(app_server, "{ me { role } }", token=ours)).status_code == 200


async def email_of(gql: GraphQL, user_id: str) -> str:
    found = await gql.query("query($id: ID!) { node(id: $id) { ... on User { email } } }", id=user_id)
    return str(found["node"]["email"])


async def test_api_keys_act_with_their_role_until_revoked(app_server: AppServer, app_gql: GraphQL) -> None:
    made = (await app_gql.query("""mutation { createApiKey(name: "crm sync", role: VIEWER) { __typename
      ... on ApiKeyCreatedPayload { key apiKey { id prefix role } } } }"""))["createApiKey"]
    key = made["key"]
    assert key.startswith(made["apiKey"]["prefix"]) and made["apiKey"]["role"] == "VIEWER"
    me = (await post(app_server, "{ me { role user { id } } }", token=key)).json()["data"]["me"]
    assert me == {"role": "VIEWER", "user": None}
    denied = (await post(app_server, 'mutation { createLead(input: {firstName: "K", phone: "+14155550199"}) { '
                                     "__typename } }", token=key)).json()
    assert denied["data"]["createLead"]["__typename"] == "PermissionDeniedError"
    keys = await app_gql.query("{ apiKeys { id prefix } }")
    assert made["apiKey"]["id"] in [k["id"] for k in keys["apiKeys"]] and "key" not in json.dumps(keys["apiKeys"][0])
    await app_gql.query("mutation($id: ID!) { revokeApiKey(id: $id) { __typename } }", id=made["apiKey"]["id"])
    assert (await post(app_server, "{ me { role } }", token=key)).status_code == 401


async def socket_messages(app: AppServer, init: dict[str, Any] | None, timeout: float = 15) -> tuple[
    list[dict[str, Any]], int | None, str
]:
    """Connects with graphql-transport-ws, subscribes to liveCalls, and reads until the server ends it."""
    seen: list[dict[str, Any]] = []
    async with websockets.connect(app.ws, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", **({"payload": init} if init is not None else {})}))
        try:
            ack = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            assert ack["type"] == "connection_ack", ack
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": LIVE}}))
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
                seen.append(message)
                if message["type"] in ("complete", "error"):
                    break
        except websockets.ConnectionClosed:
            pass
        return seen, ws.close_code, ws.close_reason or ""


@pytest.mark.parametrize("init", [None, {}, {"authorization": "Bearer not-a-token"}])
async def test_a_socket_without_valid_credentials_closes_4401(app_server: AppServer, init: Any) -> None:
    _, code, reason = await socket_messages(app_server, init)
    assert code == 4401 and reason


def short_lived(session: dict[str, Any], seconds: int) -> str:
    """The same session's token, re-issued (with the server's test secret) to expire in `seconds`."""
    claims = jwt.decode(session["accessToken"], options={"verify_signature": False})
    config = AuthConfig(secret=TEST_JWT_SECRET.encode(), access_ttl=timedelta(seconds=seconds))
    return issue_access_token(config, user_id=int(claims["sub"]), account_id=claims["acct"], role=claims["role"],
                              session_id=claims["sid"], epoch=claims["sv"], now=datetime.now(UTC)).token


async def test_a_subscription_ends_when_its_token_expires(app_server: AppServer, app_gql: GraphQL) -> None:
    _, session = await new_user(app_server, app_gql)
    started = asyncio.get_running_loop().time()
    seen, _, _ = await socket_messages(app_server, {"authorization": f"Bearer {short_lived(session, 3)}"})
    assert 1.5 < asyncio.get_running_loop().time() - started < 12
    errors = [m for m in seen if m["type"] == "next" and m["payload"].get("errors")]
    assert errors and "expired" in errors[0]["payload"]["errors"][0]["message"], seen


async def test_an_http_request_with_an_expired_token_is_refused(app_server: AppServer, app_gql: GraphQL) -> None:
    """The server remembers verified tokens; expiry is still checked on every request."""
    _, session = await new_user(app_server, app_gql)
    token = short_lived(session, 2)
    assert (await post(app_server, "{ me { role } }", token=token)).status_code == 200
    await asyncio.sleep(3)
    after = await post(app_server, "{ me { role } }", token=token)
    assert after.status_code == 401 and "expired" in after.json()["errors"][0]["message"]


async def test_deactivation_ends_a_live_subscription(app_server: AppServer, app_gql: GraphQL) -> None:
    _, session = await new_user(app_server, app_gql)
    listening = asyncio.create_task(socket_messages(app_server, {"authorization": f"Bearer {session['accessToken']}"},
                                                    timeout=20))
    await asyncio.sleep(1)
    await app_gql.query("mutation($id: ID!) { deactivateUser(userId: $id) { __typename } }", id=session["user"]["id"])
    seen, _, _ = await listening
    errors = [m for m in seen if m["type"] == "next" and m["payload"].get("errors")]
    assert errors and "deactivated" in errors[0]["payload"]["errors"][0]["message"], seen


async def test_deactivation_ends_a_subscription_that_events_keep_busy(
    app_server: AppServer, app_gql: GraphQL, store_env: dict[str, str]
) -> None:
    """The session re-check is due every SESSION_RECHECK whatever the stream does: a steady flow of events must
    not keep a deactivated user's subscription open."""
    from pathlib import Path

    from ops.voice import DEV_KEY_FILE
    from resolvers.ids import decode
    from tests.servers import app_client_state_key
    from voice.client_state import encode
    from voice.signature import load_private_key
    from voice.simulator import envelope, signed_headers

    _, session = await new_user(app_server, app_gql, role="MANAGER")  # sees every call of the account
    key = load_private_key((Path(store_env["SWITCHBOARD_DATA_DIR"]) / DEV_KEY_FILE).read_text())
    account_id = int(decode((await app_gql.query("{ account { id } }"))["account"]["id"])[1])
    state = encode(call_id=uuid.uuid4().hex, account_id=account_id, key=app_client_state_key())
    flowing = asyncio.Event()

    async def keep_busy() -> None:
        async with httpx.AsyncClient() as http:
            while not flowing.is_set():
                body = envelope("call.dtmf.received", {"call_control_id": "v3:busy", "digit": "5",
                                                       "client_state": state})
                await http.post(f"{app_server.url}/webhooks/telnyx", content=body, headers=signed_headers(key, body))
                await asyncio.sleep(0.2)

    busy = asyncio.create_task(keep_busy())
    try:
        listening = asyncio.create_task(
            socket_messages(app_server, {"authorization": f"Bearer {session['accessToken']}"}, timeout=20))
        await asyncio.sleep(1.5)
        await app_gql.query("mutation($id: ID!) { deactivateUser(userId: $id) { __typename } }",
                            id=session["user"]["id"])
        deactivated = asyncio.get_running_loop().time()
        seen, _, _ = await asyncio.wait_for(listening, 30)
        ended = asyncio.get_running_loop().time()
    finally:
        flowing.set()
        await busy
    events = [m for m in seen if m["type"] == "next" and not m["payload"].get("errors")]
    errors = [m for m in seen if m["type"] == "next" and m["payload"].get("errors")]
    assert len(events) >= 5, seen[:3]  # it was busy
    assert errors and "deactivated" in errors[0]["payload"]["errors"][0]["message"], seen[-3:]
    assert ended - deactivated < 8  # SESSION_RECHECK (5 s) and a margin

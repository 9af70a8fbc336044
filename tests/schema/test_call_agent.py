"""The voice agent's settings over GraphQL: the account's call script (read, change, field-named refusals) and
closers on duty."""

from __future__ import annotations

from typing import Any

import pytest

from tests.client import GraphQL

SCRIPT = "{ callScript { script updatedAt updatedBy { id } } }"
UPDATE = """mutation($s: JSON!) { updateCallScript(input: {script: $s}) { __typename
  ... on CallScriptPayload { callScript { script updatedAt updatedBy { id } } }
  ... on ValidationError { field message } } }"""
ON_DUTY = """mutation($id: ID!, $on: Boolean!, $phone: String) { setOnDuty(userId: $id, onDuty: $on, phone: $phone) {
  __typename ... on UserPayload { user { id onDuty phone } } ... on ValidationError { field message }
  ... on NotFoundError { field } } }"""


async def test_the_script_is_read_changed_and_kept(gql: GraphQL) -> None:
    before = (await gql.query(SCRIPT))["callScript"]
    assert {"greeting", "questions", "weights", "voicemail", "follow_up_hours"} <= set(before["script"])
    me = (await gql.query("{ me { user { id } } }"))["me"]["user"]["id"]
    greeting = "Hello from the call script test."
    saved = (await gql.query(UPDATE, s={"greeting": greeting, "weights": {"need": 40, "timeline": 10}}))
    changed = saved["updateCallScript"]
    assert changed["__typename"] == "CallScriptPayload", changed
    script = changed["callScript"]
    assert script["script"]["greeting"] == greeting and script["updatedBy"] == {"id": me} and script["updatedAt"]
    assert script["script"]["weights"]["need"] == 40 and script["script"]["weights"]["budget"] == 25
    assert script["script"]["voicemail"] == before["script"]["voicemail"], "the other fields keep their value"
    assert (await gql.query(SCRIPT))["callScript"]["script"]["greeting"] == greeting
    restored = await gql.query(UPDATE, s={k: before["script"][k] for k in ("greeting", "weights")})
    assert restored["updateCallScript"]["__typename"] == "CallScriptPayload"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"weights": {"need": 99}}, "input.script.weights"),
        ({"greeting": "  "}, "input.script.greeting"),
        ({"bogus": 1}, "input.script.bogus"),
        ({"questions": [{"criterion": "budget"}]}, "input.script.questions"),
        ({"questions": "none"}, "input.script.questions"),
        ({"ai_timeout_ms": 5}, "input.script.ai_timeout_ms"),
        ({"record": "yes"}, "input.script.record"),
        ({"opt_out_digit": "1"}, "input.script.questions[0].options"),
        ({"follow_up_hours": {"warm": -1}}, "input.script.follow_up_hours.warm"),
        ({"closings": {"warm": ""}}, "input.script.closings.warm"),
        ([], "input.script"),
        ("text", "input.script"),
    ],
)
async def test_a_refused_script_names_its_field_and_saves_nothing(gql: GraphQL, change: Any, field: str) -> None:
    before = (await gql.query(SCRIPT))["callScript"]
    refused = (await gql.query(UPDATE, s=change))["updateCallScript"]
    assert refused["__typename"] == "ValidationError" and refused["field"] == field, refused
    assert (await gql.query(SCRIPT))["callScript"] == before


async def test_a_closer_goes_on_and_off_duty(gql: GraphQL) -> None:
    users = (await gql.query("{ users { id role onDuty phone } }"))["users"]
    viewer = next(u for u in users if u["role"] == "VIEWER")
    on = (await gql.query(ON_DUTY, id=viewer["id"], on=True, phone="+1 415 555 0142"))["setOnDuty"]
    assert on == {"__typename": "UserPayload", "user": {"id": viewer["id"], "onDuty": True, "phone": "+14155550142"}}
    off = (await gql.query(ON_DUTY, id=viewer["id"], on=False))["setOnDuty"]
    assert off["user"]["onDuty"] is False and off["user"]["phone"] == "+14155550142"
    bad = (await gql.query(ON_DUTY, id=viewer["id"], on=True, phone="not a phone"))["setOnDuty"]
    assert (bad["__typename"], bad["field"]) == ("ValidationError", "phone")
    missing = (await gql.query(ON_DUTY, id="VXNlcjo5OTk5OTk5", on=True, phone="+14155550142"))["setOnDuty"]
    assert missing == {"__typename": "NotFoundError", "field": "userId"}

"""Envelope parsing, against the webhook schemas copied from Telnyx's OpenAPI description; client_state."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import INT64, json_values
from voice import client_state
from voice.envelope import HANDLED, MAX_BODY, EnvelopeError, parse

TELNYX = Path(__file__).resolve().parents[1] / "fixtures" / "telnyx"
SCHEMAS: dict[str, Any] = json.loads((TELNYX / "webhooks.json").read_text())["events"]
EXAMPLES = sorted((TELNYX / "events").glob("*.json"))


def violations(schema: dict[str, Any], value: Any) -> list[str]:
    """JSON Schema validation of an example; `format` is annotation only, as by default."""
    validator = jsonschema.Draft202012Validator(schema)
    return sorted(f"{e.json_path}: {e.message}" for e in validator.iter_errors(value))


def example(event_type: str) -> dict[str, Any]:
    return json.loads((TELNYX / "events" / f"{event_type}.json").read_text())


def body(document: Any) -> bytes:
    return json.dumps(document).encode()


def test_one_example_and_one_schema_per_handled_type() -> None:
    assert {path.stem for path in EXAMPLES} == set(HANDLED) == set(SCHEMAS)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_each_example_validates_against_its_schema(path: Path) -> None:
    document = json.loads(path.read_text())
    assert violations(SCHEMAS[path.stem]["schema"], document) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_each_example_parses(path: Path) -> None:
    raw = path.read_bytes()
    data = json.loads(raw)["data"]
    event = parse(raw)
    assert event.id == data["id"]
    assert event.type == path.stem == data["event_type"]
    assert event.payload == data["payload"]
    assert event.occurred_at.tzinfo is UTC
    assert event.occurred_at == datetime.fromisoformat(data["occurred_at"])
    assert event.type in HANDLED


def test_the_validator_is_not_vacuous() -> None:
    schema = SCHEMAS["call.hangup"]["schema"]
    document = example("call.hangup")
    document["data"]["payload"]["hangup_cause"] = "gremlins"
    document["data"]["payload"]["from"] = 13125550100
    document["data"]["payload"]["custom_headers"] = [{"name": "X-Lead"}]
    assert violations(schema, document) == [
        "$.data.payload.custom_headers[0]: 'value' is a required property",
        "$.data.payload.from: 13125550100 is not of type 'string'",
        "$.data.payload.hangup_cause: 'gremlins' is not one of ['call_rejected', 'normal_clearing', "
        "'originator_cancel', 'timeout', 'time_limit', 'user_busy', 'not_found', 'no_answer', 'unspecified']",
    ]


def test_occurred_at_is_read_as_telnyx_writes_it() -> None:
    document = example("call.answered")
    for text, expected in [
        ("2018-02-02T22:25:27.521992Z", datetime(2018, 2, 2, 22, 25, 27, 521992, tzinfo=UTC)),
        ("2018-02-02T22:25:27Z", datetime(2018, 2, 2, 22, 25, 27, tzinfo=UTC)),
        ("2018-02-02T23:25:27.5+01:00", datetime(2018, 2, 2, 22, 25, 27, 500000, tzinfo=UTC)),
    ]:
        document["data"]["occurred_at"] = text
        assert parse(body(document)).occurred_at == expected


def test_an_unknown_event_type_parses_as_is() -> None:
    document = example("call.bridged")
    document["data"]["event_type"] = "call.conversation.insights.generated"
    event = parse(body(document))
    assert event.type == "call.conversation.insights.generated" and event.type not in HANDLED


def change(path: str, value: Any) -> bytes:
    """The bridged example with one field of `data` replaced (`...` deletes it)."""
    document = example("call.bridged")
    if value is ...:
        del document["data"][path]
    else:
        document["data"][path] = value
    return body(document)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "body is not JSON"),
        (b"{'data': 1}", "body is not JSON"),
        (b"\xff\xfe{}", "body is not JSON"),
        (b'{"data": NaN}', "body is not JSON"),
        (b"[]", "body must be a JSON object, not list"),
        (b'"data"', "body must be a JSON object, not str"),
        (b"{}", "data is missing"),
        (b'{"data": null}', "data is missing"),
        (b'{"data": []}', "data must be an object, not list"),
        (change("id", ...), "data.id is missing"),
        (change("id", ""), "data.id is empty"),
        (change("id", "  "), "data.id is empty"),
        (change("id", 42), "data.id must be a string, not int"),
        (change("event_type", ...), "data.event_type is missing"),
        (change("event_type", ""), "data.event_type is empty"),
        (change("event_type", ["call.hangup"]), "data.event_type must be a string, not list"),
        (change("occurred_at", ...), "data.occurred_at is missing"),
        (change("occurred_at", 1517610327), "data.occurred_at must be a string, not int"),
        (change("occurred_at", "yesterday"), "data.occurred_at is not an ISO-8601 date-time: 'yesterday'"),
        (change("occurred_at", "2018-02-30T22:25:27Z"), "data.occurred_at is not an ISO-8601 date-time"),
        (change("occurred_at", "2018-02-02T22:25:27.521992"), "data.occurred_at has no time zone"),
        (change("occurred_at", "2018-02-02"), "data.occurred_at has no time zone"),
        (change("payload", ...), "data.payload is missing"),
        (change("payload", "{}"), "data.payload must be an object"),
        (change("payload", [1]), "data.payload must be an object"),
    ],
)
def test_bad_envelopes_say_why(raw: bytes, expected: str) -> None:
    with pytest.raises(EnvelopeError) as caught:
        parse(raw)
    assert caught.value.reason.startswith(expected)
    assert isinstance(caught.value, ValueError)


def test_a_body_over_the_limit_is_refused_before_parsing() -> None:
    padded = b'{"pad": "' + b"x" * MAX_BODY + b'"}'
    with pytest.raises(EnvelopeError, match=f"body is {len(padded)} bytes \\(limit {MAX_BODY}\\)"):
        parse(padded)
    assert MAX_BODY == 256 * 1024


# -- client_state: Telnyx echoes it in data.payload.client_state of every event of the call ---------------

# the key the example events' client_state was made with (the server's comes from `ops.secrets`)
KEY = b"client_state key of tests/voice/test_envelope.py"
EXAMPLE_CALL = ("9b2f6c1e5d7a4f0e8c3b1a2d4e6f8a0b", 1)
STATE = settings(max_examples=300, deadline=None, derandomize=True, database=None)
CALL_IDS = st.text(min_size=1, max_size=64)
ACCOUNT_IDS = st.integers(*INT64)
# equal lengths: HMAC pads a short key with zero bytes, so b"k" and b"k\x00" are one key (no text secret or
# derived digest differs from another only by trailing zero bytes)
KEYS = st.binary(min_size=len(KEY), max_size=len(KEY))


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def content(value: str) -> dict[str, Any]:
    return json.loads(base64.b64decode(value, validate=True))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_every_example_event_finds_its_call_by_client_state(path: Path) -> None:
    state = parse(path.read_bytes()).payload.get("client_state")
    assert client_state.decode(state, key=KEY) == EXAMPLE_CALL
    assert client_state.decode(state, key=KEY[::-1]) is None


def test_client_state_is_compact_base64_json_with_a_tag() -> None:
    value = client_state.encode(call_id="c-1", account_id=42, key=KEY)
    raw = base64.b64decode(value, validate=True)
    data = json.loads(raw)
    assert raw == json.dumps(data, separators=(",", ":")).encode()
    assert list(data) == ["call_id", "account_id", "mac"] and data["call_id"] == "c-1" and data["account_id"] == 42
    tag = base64.urlsafe_b64decode(data["mac"] + "==")
    assert len(data["mac"]) == 22 and len(tag) == client_state.TAG_BYTES == 16
    assert client_state.decode(value, key=KEY) == ("c-1", 42)
    assert value == client_state.encode(call_id="c-1", account_id=42, key=KEY), "the same call, the same value"
    # a call id as we make them (uuid hex) in a large account: well under Telnyx's limits
    assert len(client_state.encode(call_id="f" * 32, account_id=2**63 - 1, key=KEY)) < 200


GOOD = client_state.encode(call_id="c-1", account_id=1, key=KEY)


def tagged(**changes: Any) -> str:
    """GOOD with fields of its JSON changed (`...` deletes one), re-encoded as `encode` writes it."""
    data = content(GOOD) | changes
    return b64(json.dumps({k: v for k, v in data.items() if v is not ...}, separators=(",", ":")).encode())


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "aGF2ZSBhIG5pY2UgZGF5ID1d",  # the spec's example: another application's state
        "not base64 at all!",
        "ünïcode",
        b64(b"\xff\xfe"),
        b64(b"[1, 2]"),
        b64(b'{"call_id": "c-1"}'),
        b64(b'{"call_id": "", "account_id": 1}'),
        b64(b'{"call_id": 7, "account_id": 1}'),
        b64(b'{"call_id": "c-1", "account_id": "1"}'),
        b64(b'{"call_id": "c-1", "account_id": true}'),
        b64(b'{"call_id": "c-1", "account_id": 1.0}'),
        b64(b'{"call_id":"c-1","account_id":1}'),  # the old untagged form of a real call
        tagged(mac=...),
        tagged(mac=""),
        tagged(account_id=2),  # the tag of account 1 naming account 2
        tagged(call_id="c-2"),
        tagged(account_id=True),  # bool is an int subclass: true must not name account 1
        tagged(account_id=1.0),
        tagged(extra="x"),
        b64(json.dumps(content(GOOD)).encode()),  # the same fields, spaced: only encode's own bytes pass
        GOOD[:-1],
        GOOD[:-4],
        GOOD[4:],
        GOOD + "\n",
        GOOD + "AAAA",
        " " + GOOD,
        client_state.encode(call_id="c-1", account_id=1, key=b""),
        client_state.encode(call_id="c-1", account_id=1, key=KEY[:-1]),
    ],
)
def test_client_state_decode_answers_none_for_anything_else(value: str | None) -> None:
    assert client_state.decode(tagged(), key=KEY) == ("c-1", 1), "the cases change a value that decodes"
    assert client_state.decode(value, key=KEY) is None


def test_client_state_decode_takes_any_type_without_raising() -> None:
    assert client_state.decode(12345, key=KEY) is None  # type: ignore[arg-type]
    assert client_state.decode(GOOD.encode(), key=KEY) is None  # type: ignore[arg-type]


@STATE
@given(call_id=CALL_IDS, account_id=ACCOUNT_IDS, key=KEYS)
def test_client_state_round_trips_any_call(call_id: str, account_id: int, key: bytes) -> None:
    value = client_state.encode(call_id=call_id, account_id=account_id, key=key)
    assert client_state.decode(value, key=key) == (call_id, account_id)
    assert value.isascii()


@STATE
@given(call_id=CALL_IDS, account_id=ACCOUNT_IDS, data=st.data())
def test_any_one_byte_change_of_the_value_decodes_to_none(call_id: str, account_id: int, data: st.DataObject) -> None:
    raw = client_state.encode(call_id=call_id, account_id=account_id, key=KEY).encode()
    index = data.draw(st.integers(0, len(raw) - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != raw[index]))
    changed = raw[:index] + bytes([byte]) + raw[index + 1 :]
    assert client_state.decode(changed.decode("latin-1"), key=KEY) is None


@STATE
@given(call_id=CALL_IDS, account_id=ACCOUNT_IDS, data=st.data())
def test_any_one_byte_change_of_the_content_decodes_to_none(
    call_id: str, account_id: int, data: st.DataObject
) -> None:
    """The same below the base64: a forger writes valid base64 of whatever JSON they like."""
    raw = base64.b64decode(client_state.encode(call_id=call_id, account_id=account_id, key=KEY))
    index = data.draw(st.integers(0, len(raw) - 1))
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != raw[index]))
    assert client_state.decode(b64(raw[:index] + bytes([byte]) + raw[index + 1 :]), key=KEY) is None


@STATE
@given(call_id=CALL_IDS, account_id=ACCOUNT_IDS, other=KEYS.filter(lambda k: k != KEY))
def test_any_other_key_decodes_to_none(call_id: str, account_id: int, other: bytes) -> None:
    assert client_state.decode(client_state.encode(call_id=call_id, account_id=account_id, key=other), key=KEY) is None
    assert client_state.decode(client_state.encode(call_id=call_id, account_id=account_id, key=KEY), key=other) is None


@STATE
@given(
    value=st.text()
    | st.binary().map(b64)
    | json_values(any_int=True).map(lambda v: b64(json.dumps(v).encode()))
    | st.fixed_dictionaries(
        {"call_id": CALL_IDS, "account_id": st.integers() | json_values(max_leaves=2), "mac": st.text(max_size=30)}
    ).map(lambda d: b64(json.dumps(d, separators=(",", ":")).encode()))
)
def test_arbitrary_text_decodes_to_none(value: str) -> None:
    assert client_state.decode(value, key=KEY) is None


# -- hostile bodies: parse answers with an event or an EnvelopeError, nothing else (the endpoint's 400) ----------

JSON = json_values(max_leaves=10, any_int=True, nan=True)
HOSTILE = settings(max_examples=300, deadline=None, derandomize=True, database=None)


def outcome(raw: bytes) -> str:
    try:
        parse(raw)
    except EnvelopeError as error:
        assert error.reason, "a refusal says why"
        return "refused"
    return "parsed"


@HOSTILE
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_are_refused(raw: bytes) -> None:
    outcome(raw)


@HOSTILE
@given(
    kind=st.sampled_from(sorted(HANDLED)),
    field=st.sampled_from(["id", "event_type", "occurred_at", "payload", "record_type", "extra"]),
    value=JSON,
)
def test_any_field_value_parses_or_is_refused(kind: str, field: str, value: Any) -> None:
    document = example(kind)
    document["data"][field] = value
    outcome(json.dumps(document, allow_nan=True).encode())


@HOSTILE
@given(document=JSON)
def test_any_json_document_parses_or_is_refused(document: Any) -> None:
    outcome(json.dumps(document, allow_nan=True).encode())

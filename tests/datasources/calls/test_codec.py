from datetime import UTC, datetime

from datasources.calls.codec import dump_call, load_call
from datasources.calls.model import Call, CallState


def test_a_call_survives_json() -> None:
    import orjson

    at = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    call = Call(id="c1", account_id=7, lead_id="l1", state=CallState.answered, started_at=at, answered_at=at,
                transcript=("hello",), seen=frozenset({"e2", "e1"}), updated_at=at)
    assert load_call(orjson.loads(orjson.dumps(dump_call(call)))) == call
    assert dump_call(call)["seen"] == ["e1", "e2"]

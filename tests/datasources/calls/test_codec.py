from datetime import UTC, datetime

from datasources.calls.codec import dump_call, load_call
from datasources.calls.model import Call, CallState


def test_a_call_survives_json() -> None:
    import orjson

    at = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    call = Call(id="c1", account_id=7, lead_id="l1", state=CallState.answered, started_at=at, answered_at=at,
                transcript=("hello",), gathered_key=(at, "g1"), updated_at=at)
    assert load_call(orjson.loads(orjson.dumps(dump_call(call)))) == call


def test_a_call_stored_before_its_logs_moved_out_still_loads() -> None:
    """Calls live when this version starts keep their old JSON, with `seen`, `dtmf_log` and `gather_log`."""
    old = {"id": "c1", "account_id": 7, "state": "answered", "seen": ["e1"], "dtmf": "12",
           "dtmf_log": [["2026-11-22T09:30:00+00:00", "d1", "1"]], "gather_log": []}
    assert load_call(old) == Call(id="c1", account_id=7, state=CallState.answered)

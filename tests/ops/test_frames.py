"""Shared answers are encoded once; every message still reads as the JSON of the whole message."""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from ops.frames import Frames


def test_a_shared_answer_is_encoded_once_and_each_message_is_whole() -> None:
    frames, whole_calls = Frames(kept=2), []

    def whole(message: Mapping[str, object]) -> str:
        whole_calls.append(message)
        return orjson.dumps(message).decode()

    data = {"liveCalls": {"cursor": "1-0", "call": {"id": "Q2FsbDox", "dtmf": "1\"2"}}}
    for op_id, kind in (("1", "next"), ("2", "next"), ("7", "data")):
        message = {"id": op_id, "type": kind, "payload": {"data": data}}
        assert orjson.loads(frames.encode(message, whole)) == message
    assert frames._encoded[id(data)][0] is data and not whole_calls
    costed = {"id": "3", "type": "next", "payload": {"data": data, "extensions": {"cost": {"requested": 2}}}}
    assert orjson.loads(frames.encode(costed, whole)) == costed and not whole_calls
    with_errors = {"id": "3", "type": "next", "payload": {"data": None, "errors": [{"message": "no"}]}}
    assert orjson.loads(frames.encode(with_errors, whole)) == with_errors and whole_calls == [with_errors]
    for n in range(3):  # older answers make way
        frames.encode({"id": "4", "type": "next", "payload": {"data": {"n": n}}}, whole)
    assert len(frames._encoded) == 2 and id(data) not in frames._encoded

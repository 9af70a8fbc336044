"""The call state machine: each event type, the hangup table, and order-independence as properties."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datasources.calls.codec import dump_call, load_call
from datasources.calls.model import TERMINAL, Call, CallEvent, CallState, dtmf_of
from tests.strategies import json_values
from voice.envelope import HANDLED, parse
from voice.state import HANDLERS, NOT_PICKED_UP, apply, log_line, rank, terminal_state

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "telnyx" / "events"
T0 = datetime(2026, 3, 2, 15, 4, 5, tzinfo=UTC)
CCID = "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg"
FROM, TO = "+13125550100", "+13125550123"
# the spec's hangup_cause enum, plus what a SIP carrier may still send
SPEC_CAUSES = [
    "call_rejected", "normal_clearing", "originator_cancel", "timeout", "time_limit", "user_busy", "not_found",
    "no_answer", "unspecified",
]  # fmt: skip
CAUSES: list[str | None] = [*SPEC_CAUSES, "unallocated_number", None]
# CI must not be flaky: the same 200 examples every run, nothing remembered between runs
PROPERTY = settings(max_examples=200, deadline=None, derandomize=True, database=None)


def event(kind: str, event_id: str, second: float, **payload: Any) -> CallEvent:
    common = {"call_control_id": CCID, "call_session_id": "session-1", "client_state": "x"}
    return CallEvent(id=event_id, type=kind, occurred_at=T0 + timedelta(seconds=second), payload=common | payload)


def run(events: Iterable[CallEvent], start: Call | None = None) -> Call:
    return functools.reduce(apply, events, start or Call(id="call-1", account_id=7))


def at(second: float) -> datetime:
    return T0 + timedelta(seconds=second)


# -- each event type ------------------------------------------------------------------------------------


def test_the_handled_types_are_the_ones_with_handlers_and_the_agents() -> None:
    # the AI gather's and transcription's events only feed the agent's conversation (voice/agent.py)
    agent_only = {"call.ai_gather.ended", "call.ai_gather.partial_results", "call.ai_gather.message_history_updated",
                  "call.transcription"}
    assert set(HANDLERS) == HANDLED - agent_only


def test_initiated() -> None:
    call = run([event("call.initiated", "e1", 0, direction="incoming", to=TO, **{"from": FROM})])
    assert call.state is CallState.initiated
    assert (call.started_at, call.direction, call.from_number, call.to_number) == (T0, "inbound", FROM, TO)
    assert (call.call_control_id, call.call_session_id) == (CCID, "session-1")
    assert call.updated_at == T0


def test_outgoing_is_outbound() -> None:
    assert run([event("call.initiated", "e1", 0, direction="outgoing")]).direction == "outbound"


def test_answered_then_bridged() -> None:
    call = run([event("call.initiated", "e1", 0), event("call.answered", "e2", 8)])
    assert (call.state, call.answered_at) == (CallState.answered, at(8))
    assert run([event("call.bridged", "e3", 9)], call).state is CallState.bridged


def test_a_late_event_never_moves_the_call_back_but_fills_its_facts() -> None:
    call = run([event("call.bridged", "e3", 9), event("call.answered", "e2", 8), event("call.initiated", "e1", 0)])
    assert call.state is CallState.bridged
    assert (call.started_at, call.answered_at, call.updated_at) == (T0, at(8), at(9))


def test_a_late_event_fills_the_control_id_the_call_lacked() -> None:
    start = Call(id="call-1", account_id=7, state=CallState.answered)
    assert run([event("call.speak.started", "e1", 1)], start).call_control_id == CCID


def test_machine_detection_sets_answered_by() -> None:
    call = run([event("call.answered", "e1", 0), event("call.machine.detection.ended", "e2", 3, result="machine")])
    assert (call.answered_by, call.state) == ("machine", CallState.answered)


def test_the_earliest_detection_wins() -> None:
    late = event("call.machine.detection.ended", "e2", 9, result="machine")
    early = event("call.machine.detection.ended", "e3", 4, result="human")
    assert run([late, early]).answered_by == run([early, late]).answered_by == "human"


def test_hangup_ends_the_call_with_its_facts() -> None:
    call = run([
        event("call.initiated", "e1", 0), event("call.answered", "e2", 8),
        event("call.hangup", "e3", 98, hangup_cause="normal_clearing", hangup_source="callee"),
    ])  # fmt: skip
    assert call.state is CallState.completed and call.terminal
    assert (call.hangup_cause, call.hangup_source, call.ended_at, call.duration_sec) == (
        "normal_clearing", "callee", at(98), 90,
    )  # fmt: skip


def test_of_two_hangups_the_earliest_wins_then_the_smallest_id() -> None:
    busy = event("call.hangup", "b", 5, hangup_cause="user_busy")
    rejected = event("call.hangup", "a", 5, hangup_cause="call_rejected")
    later = event("call.hangup", "0", 6, hangup_cause="timeout")
    for order in itertools.permutations([busy, rejected, later]):
        call = run(order)
        assert (call.state, call.hangup_cause, call.ended_at) == (CallState.failed, "call_rejected", at(5))


def test_a_machine_detection_after_the_hangup_still_makes_it_voicemail() -> None:
    call = run([event("call.answered", "e1", 0), event("call.hangup", "e2", 30, hangup_cause="normal_clearing")])
    assert call.state is CallState.completed
    call = apply(call, event("call.machine.detection.ended", "e3", 4, result="machine"))
    assert (call.state, call.answered_by) == (CallState.voicemail, "machine")


def test_an_answer_after_the_hangup_fills_answered_at_and_the_call_stays_ended() -> None:
    call = run([event("call.hangup", "e2", 30, hangup_cause="normal_clearing"), event("call.answered", "e1", 2)])
    assert (call.state, call.answered_at, call.duration_sec) == (CallState.completed, at(2), 28)


def test_speaking_follows_the_latest_speak_event() -> None:
    started = event("call.speak.started", "s1", 1)
    ended = event("call.speak.ended", "s2", 5, status="completed")
    again = event("call.speak.started", "s3", 7)
    assert run([started]).speaking is True
    assert run([started, ended]).speaking is False
    assert run([ended, started]).speaking is False  # the end arrived first; the start is older
    assert run([ended, again, started]).speaking is True


def test_nobody_speaks_on_an_ended_call() -> None:
    call = run([event("call.speak.started", "s1", 1), event("call.hangup", "h", 2, hangup_cause="normal_clearing")])
    assert call.speaking is False


def test_gathered_is_the_latest_answer() -> None:
    first = event("call.gather.ended", "g1", 10, digits="1", status="valid")
    second = event("call.gather.ended", "g2", 20, digits="60614", status="valid")
    empty = event("call.gather.ended", "g3", 30, digits="", status="timeout")
    for order in itertools.permutations([first, second, empty]):
        assert run(order).gathered == "60614"


def test_dtmf_digits_are_in_the_order_they_were_pressed() -> None:
    presses = [event("call.dtmf.received", f"d{n}", n, digit=digit) for n, digit in enumerate("12#")]
    lines = [log_line(e) for e in presses]
    assert all(lines) and log_line(event("call.dtmf.received", "x", 4)) is None
    assert dtmf_of(filter(None, reversed(lines))) == dtmf_of(filter(None, [*lines, *lines])) == "12#"


def test_a_dtmf_event_leaves_the_call_bounded() -> None:
    """The digits live in the call's log: the call itself does not grow with them."""
    call = run([event("call.dtmf.received", f"d{n}", n, digit="1") for n in range(50)])
    assert call == run([event("call.dtmf.received", "d0", 0, digit="1")], Call(id="call-1", account_id=7,
                                                                             updated_at=at(49)))


def recording(event_id: str, second: float, **urls: Any) -> CallEvent:
    return event("call.recording.saved", event_id, second, **urls)


@pytest.mark.parametrize(
    ("urls", "expected"),
    [
        ({"recording_urls": {"mp3": "https://r/a.mp3", "wav": "https://r/a.wav"}}, "https://r/a.mp3"),
        ({"recording_urls": {"mp3": None, "wav": "https://r/a.wav"}}, "https://r/a.wav"),
        ({"recording_urls": {"mp3": None}, "public_recording_urls": {"mp3": "https://p/a.mp3"}}, "https://p/a.mp3"),
        ({"public_recording_urls": {"mp3": None, "wav": None}}, None),
        ({}, None),
    ],
)
def test_recording_url(urls: dict[str, Any], expected: str | None) -> None:
    assert run([recording("r1", 60, **urls)]).recording_url == expected


def test_the_earliest_recording_wins() -> None:
    first = recording("r1", 60, recording_urls={"mp3": "https://r/1.mp3"})
    second = recording("r2", 90, recording_urls={"mp3": "https://r/2.mp3"})
    assert run([second, first]).recording_url == run([first, second]).recording_url == "https://r/1.mp3"


def test_an_unhandled_type_only_moves_updated_at() -> None:
    start = run([event("call.initiated", "e1", 0)])
    call = apply(start, event("call.playback.started", "p1", 3, call_control_id="v3:other"))
    assert call == Call(**{**vars(start), "updated_at": at(3)})


def test_an_event_applied_again_changes_nothing() -> None:
    events = [event("call.initiated", "e1", 0), event("call.answered", "e2", 8), event("call.gather.ended", "g", 9,
              digits="4"), event("call.hangup", "e3", 20, hangup_cause="normal_clearing")]  # fmt: skip
    call = run(events)
    for e in events:
        assert apply(call, e) == call


def test_updated_at_never_goes_back() -> None:
    assert run([event("call.answered", "e2", 8), event("call.initiated", "e1", 0)]).updated_at == at(8)


def test_a_call_the_carrier_refused_stays_failed_until_a_hangup_says_otherwise() -> None:
    start = Call(id="call-1", account_id=7, state=CallState.failed)
    assert run([event("call.initiated", "e1", 0), event("call.answered", "e2", 1)], start).state is CallState.failed
    assert run([event("call.hangup", "e3", 2, hangup_cause="user_busy")], start).state is CallState.busy


def test_the_example_webhooks_make_one_whole_call() -> None:
    events = [parse(path.read_bytes()) for path in sorted(EVENTS.glob("*.json"))]
    call = run(events, Call(id="9b2f6c1e5d7a4f0e8c3b1a2d4e6f8a0b", account_id=1, direction="outbound"))
    assert call.state is CallState.completed
    assert (call.from_number, call.to_number, call.call_control_id) == (FROM, TO, CCID)
    assert (call.answered_by, call.gathered, call.speaking) == ("human", "1", False)
    assert dtmf_of(filter(None, map(log_line, events))) == "1"
    assert (call.hangup_cause, call.hangup_source, call.duration_sec) == ("normal_clearing", "callee", 148)
    assert call.recording_url is not None and call.recording_url.endswith(".mp3?X-Amz-Expires=600")
    assert call.updated_at == max(e.occurred_at for e in events)


# -- the hangup table -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        ("normal_clearing", CallState.completed),
        ("originator_cancel", CallState.canceled),
        ("timeout", CallState.no_answer),
        ("no_answer", CallState.no_answer),
        ("time_limit", CallState.no_answer),
        ("user_busy", CallState.busy),
        ("call_rejected", CallState.failed),
        ("not_found", CallState.failed),
        ("unspecified", CallState.failed),
        ("unallocated_number", CallState.failed),
        (None, CallState.failed),
    ],
)
def test_a_hangup_before_anyone_picked_up(cause: str | None, expected: CallState) -> None:
    assert terminal_state(cause, picked_up=False, answered_by=None) is expected
    assert run([event("call.initiated", "e1", 0), event("call.hangup", "h", 30, hangup_cause=cause)]).state is expected


def test_every_cause_of_the_spec_is_in_the_table() -> None:
    assert set(NOT_PICKED_UP) == set(SPEC_CAUSES)


@pytest.mark.parametrize("cause", CAUSES)
@pytest.mark.parametrize(
    ("answered_by", "expected"),
    [(None, CallState.completed), ("human", CallState.completed), ("not_sure", CallState.completed),
     ("machine", CallState.voicemail)],
)  # fmt: skip
def test_a_hangup_after_the_answer(cause: str | None, answered_by: str | None, expected: CallState) -> None:
    assert terminal_state(cause, picked_up=True, answered_by=answered_by) is expected
    events = [event("call.answered", "a", 5), event("call.hangup", "h", 30, hangup_cause=cause)]
    if answered_by:
        events.append(event("call.machine.detection.ended", "m", 7, result=answered_by))
    assert run(events).state is expected


def test_premium_detection_and_greeting_end() -> None:
    human = run([event("call.answered", "a", 0),
                 event("call.machine.premium.detection.ended", "d", 3, result="human_business"),
                 event("call.hangup", "h", 30, hangup_cause="normal_clearing")])
    assert (human.answered_by, human.state) == ("human_business", CallState.completed)
    # the greeting-ended event alone (the beep came first) is a machine, and the call ends as voicemail
    machine = run([event("call.hangup", "h", 30, hangup_cause="normal_clearing"),
                   event("call.machine.premium.greeting.ended", "g", 9, result="beep_detected"),
                   event("call.answered", "a", 0)])
    assert (machine.answered_by, machine.state) == ("machine", CallState.voicemail)


def test_a_detection_result_alone_means_someone_picked_up() -> None:
    events = [
        event("call.hangup", "h", 30, hangup_cause="timeout"),
        event("call.machine.detection.ended", "m", 7, result="machine"),
    ]
    assert run(events).state is CallState.voicemail


# -- properties over realistic sequences ----------------------------------------------------------------


@st.composite
def histories(draw: st.DrawFn) -> list[CallEvent]:
    """One call's webhooks with random timing (ties included), optional steps, and Telnyx's retries."""
    serial = itertools.count()

    def make(kind: str, low: int, high: int, **payload: Any) -> CallEvent:
        # ids in random order relative to time, so the id tie-break is exercised
        event_id = f"{draw(st.integers(0, 999)):03d}-{next(serial)}"
        return event(kind, event_id, draw(st.integers(low, high)), **payload)

    parties = {"from": FROM, "to": TO}
    events = [make("call.initiated", 0, 3, direction=draw(st.sampled_from(["outgoing", "incoming"])), **parties)]
    answered = draw(st.booleans())
    if answered:
        events.append(make("call.answered", 2, 20, **parties))
        if draw(st.booleans()):
            events.append(make("call.bridged", 10, 30, **parties))
    for _ in range(draw(st.integers(0, 2 if answered else 1))):
        result = draw(st.sampled_from(["human", "machine", "not_sure", "human_residence", "silence"]))
        kind = draw(st.sampled_from(["call.machine.detection.ended", "call.machine.premium.detection.ended"]))
        events.append(make(kind, 5, 25, result=result, **parties))
    if answered and draw(st.booleans()):
        events.append(make("call.machine.premium.greeting.ended", 10, 30, result="beep_detected", **parties))
    for _ in range(draw(st.integers(0, 3))):
        started = make("call.speak.started", 5, 60)
        ended = make("call.speak.ended", 5, 60, status=draw(st.sampled_from(["completed", "call_hangup"])))
        events += [started, ended] if draw(st.booleans()) else [started]
    for _ in range(draw(st.integers(0, 5))):
        events.append(make("call.dtmf.received", 10, 60, digit=draw(st.sampled_from("0123456789*#")), **parties))
    for _ in range(draw(st.integers(0, 2))):
        digits = draw(st.text("0123456789", max_size=4))
        events.append(make("call.gather.ended", 10, 60, digits=digits, status="valid" if digits else "timeout"))
    for n in range(draw(st.integers(0, 2))):
        events.append(make("call.recording.saved", 60, 70, recording_urls={"mp3": f"https://r/{n}.mp3"}))
    for _ in range(draw(st.integers(0, 2))):
        cause = draw(st.sampled_from(CAUSES))
        source = draw(st.sampled_from(["caller", "callee", "unknown"]))
        events.append(make("call.hangup", 20, 65, hangup_cause=cause, hangup_source=source, **parties))
    for _ in range(draw(st.integers(0, 2))):
        events.append(make(draw(st.sampled_from(["call.playback.started", "call.cost", "call.hold"])), 0, 70))
    retries = draw(st.lists(st.sampled_from(events), max_size=6))
    return events + retries


STARTS = [
    Call(id="call-1", account_id=7),  # an event arrived before our own record of the dial
    Call(id="call-1", account_id=7, lead_id="lead-1", state=CallState.queued, direction="outbound",
         from_number=FROM, to_number=TO, updated_at=T0 - timedelta(seconds=2)),  # as startCall stores it
]  # fmt: skip


@PROPERTY
@given(events=histories(), start=st.sampled_from(STARTS), data=st.data())
def test_any_order_gives_the_same_call(events: list[CallEvent], start: Call, data: st.DataObject) -> None:
    order = data.draw(st.permutations(events))
    expected = run(sorted(events, key=lambda e: (e.occurred_at, e.id)), start)
    assert run(order, start) == expected
    assert run(reversed(events), start) == expected
    lines = [line for e in events if (line := log_line(e)) is not None]
    assert dtmf_of(order_lines := [line for e in order if (line := log_line(e)) is not None]) == dtmf_of(lines)
    assert len(set(order_lines)) == len({e.id for e in events if e.type == "call.dtmf.received"})
    assert expected.updated_at == max(e.occurred_at for e in events)


@PROPERTY
@given(events=histories(), start=st.sampled_from(STARTS), data=st.data())
def test_applying_an_event_twice_is_applying_it_once(events: list[CallEvent], start: Call, data: st.DataObject) -> None:
    call = start
    for current in data.draw(st.permutations(events)):
        once = apply(call, current)
        assert apply(once, current) == once
        call = once


@PROPERTY
@given(events=histories(), start=st.sampled_from(STARTS), data=st.data())
def test_the_state_never_goes_back_and_terminal_stays_terminal(
    events: list[CallEvent], start: Call, data: st.DataObject
) -> None:
    call = start
    for current in data.draw(st.permutations(events)):
        after = apply(call, current)
        assert rank(after.state) >= rank(call.state)
        assert not call.terminal or after.terminal
        call = after


@PROPERTY
@given(events=histories(), start=st.sampled_from(STARTS))
def test_terminal_exactly_when_a_hangup_was_applied(events: list[CallEvent], start: Call) -> None:
    call = run(events, start)
    assert call.terminal == any(e.type == "call.hangup" for e in events)
    assert call.state in TERMINAL or call.state in {CallState.initiated, CallState.answered, CallState.bridged}


# -- hostile payloads -------------------------------------------------------------------------------------

JSON = json_values()
PAYLOAD_KEYS = ["call_control_id", "call_session_id", "direction", "from", "to", "result", "hangup_cause",
                "hangup_source", "digits", "digit", "status", "recording_urls", "public_recording_urls"]


@PROPERTY
@given(
    kinds=st.lists(st.sampled_from(sorted(HANDLED)), min_size=1, max_size=6),
    payloads=st.lists(st.dictionaries(st.sampled_from(PAYLOAD_KEYS), JSON, max_size=5), min_size=6, max_size=6),
)
def test_any_payload_values_leave_a_call_that_round_trips(kinds: list[str], payloads: list[dict[str, Any]]) -> None:
    """A signed event may still carry a number where a string belongs: apply ignores what it cannot read."""
    call = run(
        CallEvent(id=f"e{i}", type=kind, occurred_at=at(i), payload=payload)
        for i, (kind, payload) in enumerate(zip(kinds, payloads, strict=False))
    )
    for text in (call.call_control_id, call.from_number, call.hangup_cause, call.answered_by, call.recording_url):
        assert text is None or isinstance(text, str)
    assert load_call(orjson.loads(orjson.dumps(dump_call(call)))) == call

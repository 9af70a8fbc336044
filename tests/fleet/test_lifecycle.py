from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.lifecycle import ROUTE_MOVES, STOP_MOVES, RouteStatus, StopStatus, route_done, route_move, stop_move


@pytest.mark.parametrize(("now", "to"), [
    ("planned", "assigned"), ("assigned", "in_progress"), ("in_progress", "completed"), ("planned", "canceled"),
    ("assigned", "canceled"), ("in_progress", "canceled"), ("assigned", "planned"),
])
def test_legal_route_moves(now: str, to: str) -> None:
    assert route_move(now, to) is None


@pytest.mark.parametrize(("now", "to", "says"), [
    ("planned", "in_progress", "a route planned cannot become in_progress"),
    ("completed", "in_progress", "it has ended"),
    ("canceled", "assigned", "it has ended"),
    ("in_progress", "assigned", "cannot become assigned"),
    ("planned", "completed", "cannot become completed"),
])
def test_illegal_route_moves_name_the_field_and_reason(now: str, to: str, says: str) -> None:
    refused = route_move(now, to)
    assert refused is not None and refused.field == "routeId" and says in refused.reason


def test_a_route_starts_only_with_a_driver_and_a_vehicle() -> None:
    assert "driver" in (route_move("assigned", "in_progress", has_driver=False) or pytest.fail()).reason
    assert "vehicle" in (route_move("assigned", "in_progress", has_vehicle=False) or pytest.fail()).reason


@pytest.mark.parametrize(("now", "to"), [
    ("pending", "arrived"), ("arrived", "completed"), ("arrived", "failed"), ("pending", "failed"),
    ("en_route", "arrived"),
])
def test_legal_stop_moves(now: str, to: str) -> None:
    assert stop_move(now, to, route_status="in_progress", reason="closed") is None


@pytest.mark.parametrize(("now", "to", "route", "field", "says"), [
    ("pending", "completed", "in_progress", "stopId", "before arriving"),
    ("completed", "failed", "in_progress", "stopId", "already completed"),
    ("failed", "arrived", "in_progress", "stopId", "already failed"),
    ("pending", "arrived", "assigned", "stopId", "start it first"),
    ("arrived", "arrived", "in_progress", "stopId", "cannot become arrived"),
    ("pending", "failed", "in_progress", "reason", "needs a reason"),
])
def test_illegal_stop_moves_name_the_field_and_reason(now: str, to: str, route: str, field: str, says: str) -> None:
    refused = stop_move(now, to, route_status=route, reason=None)
    assert refused is not None and refused.field == field and says in refused.reason


def test_terminal_states_stay_terminal() -> None:
    for status in (RouteStatus.completed, RouteStatus.canceled):
        assert not ROUTE_MOVES[status]
    for stop in (StopStatus.completed, StopStatus.failed, StopStatus.skipped):
        assert not STOP_MOVES[stop]


@given(st.sampled_from(list(RouteStatus)), st.sampled_from(list(RouteStatus)))
def test_route_move_agrees_with_the_table(now: RouteStatus, to: RouteStatus) -> None:
    assert (route_move(now, to) is None) == (to in ROUTE_MOVES[now])


@given(st.lists(st.sampled_from(list(StopStatus)), max_size=8))
def test_a_route_is_done_when_no_stop_is_open(statuses: list[StopStatus]) -> None:
    open_ = {StopStatus.pending, StopStatus.en_route, StopStatus.arrived}
    assert route_done([s.value for s in statuses]) == (not open_ & set(statuses))

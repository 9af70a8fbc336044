from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.eta import Remaining, changed, etas
from fleet.matrix import ROAD_FACTOR, URBAN_KMH, haversine_km

AT = datetime(2026, 11, 30, 9, tzinfo=UTC)


def test_the_first_eta_is_the_drive_from_the_position() -> None:
    stop = Remaining(1, 40.80, -74.0)
    ((stop_id, eta),) = etas((40.70, -74.0), AT, [stop])
    hours = ROAD_FACTOR * haversine_km(40.70, -74.0, 40.80, -74.0) / URBAN_KMH
    assert stop_id == 1
    assert eta == AT + timedelta(hours=hours)


def test_waiting_for_a_window_and_service_push_later_stops() -> None:
    opens = AT + timedelta(hours=2)
    first, second = Remaining(1, 40.70, -74.0, window_start=opens, service_min=15), Remaining(2, 40.70, -74.0)
    (_, eta1), (_, eta2) = etas((40.70, -74.0), AT, [first, second])
    assert eta1 == AT  # already there: arrives now, waits for the window
    assert eta2 == opens + timedelta(minutes=15)


def test_no_stops_no_etas_and_bad_speeds_refused() -> None:
    assert etas((0.0, 0.0), AT, []) == []
    with pytest.raises(ValueError):
        etas((0.0, 0.0), AT, [Remaining(1, 0, 0)], speed_kmh=0)


def test_changed_keeps_only_moves_beyond_the_threshold() -> None:
    before = {1: AT, 2: AT, 3: None}
    after = [(1, AT + timedelta(seconds=10)), (2, AT + timedelta(minutes=5)), (3, AT)]
    assert changed(before, after) == [(2, AT + timedelta(minutes=5)), (3, AT)]


coordinates = st.tuples(st.floats(40.0, 41.0), st.floats(-74.5, -73.5))


@given(coordinates, st.lists(st.tuples(coordinates, st.floats(0, 30)), max_size=10))
def test_etas_never_go_backwards_in_plan_order(start: tuple[float, float], raw: list) -> None:
    stops = [Remaining(i, lat, lon, service_min=svc) for i, ((lat, lon), svc) in enumerate(raw)]
    found = [t for _, t in etas(start, AT, stops)]
    assert all(a <= b for a, b in zip(found, found[1:], strict=False))
    assert all(t >= AT for t in found)

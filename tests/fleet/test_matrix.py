from __future__ import annotations

import math

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.matrix import haversine_km, haversine_matrices, osrm_table

PARIS, LONDON = (48.8566, 2.3522), (51.5074, -0.1278)
latitudes = st.floats(-89.9, 89.9)
longitudes = st.floats(-180, 180)


def test_haversine_paris_london() -> None:
    assert haversine_km(*PARIS, *LONDON) == pytest.approx(343.5, abs=1.0)


@given(st.lists(st.tuples(latitudes, longitudes), min_size=1, max_size=5))
def test_matrices_are_symmetric_with_a_zero_diagonal(points: list[tuple[float, float]]) -> None:
    m = haversine_matrices(points)
    for i in range(len(points)):
        assert m.distance_km[i][i] == 0.0
        for j in range(len(points)):
            assert m.distance_km[i][j] == pytest.approx(m.distance_km[j][i], abs=1e-9)
            assert 0 <= m.distance_km[i][j] <= 1.3 * math.pi * 6371.01


def test_road_factor_and_speed() -> None:
    plain = haversine_matrices([PARIS, LONDON], road_factor=1.0, speed_kmh=60.0)
    urban = haversine_matrices([PARIS, LONDON])
    assert urban.distance_km[0][1] == pytest.approx(1.3 * plain.distance_km[0][1])
    assert plain.duration_s[0][1] == pytest.approx(plain.distance_km[0][1] * 60.0)  # 1 km a minute
    assert urban.duration_s[0][1] == pytest.approx(urban.distance_km[0][1] * 90.0)  # 40 km/h
    with pytest.raises(ValueError):
        haversine_matrices([PARIS], speed_kmh=0)


def test_osrm_table_request_and_answer() -> None:
    seen: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(
            200, json={"code": "Ok", "distances": [[0, 1500.0], [None, 0]], "durations": [[0, 120.0], [None, 0]]}
        )

    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        m = osrm_table("http://osrm:5000/", [PARIS, LONDON], client=client)
    assert seen[0].path == "/table/v1/driving/2.352200,48.856600;-0.127800,51.507400"
    assert seen[0].params["annotations"] == "distance,duration"
    assert m.distance_km == [[0.0, 1.5], [math.inf, 0.0]]
    assert m.duration_s == [[0.0, 120.0], [math.inf, 0.0]]


def test_osrm_error_is_raised() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"code": "InvalidQuery", "message": "bad coordinates"})

    with httpx.Client(transport=httpx.MockTransport(answer)) as client, pytest.raises(RuntimeError, match="bad coord"):
        osrm_table("http://osrm:5000", [PARIS], client=client)

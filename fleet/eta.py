"""ETAs of a route's remaining stops from the driver's last position (pure).

The vehicle drives from where it was seen, at `at`, to each remaining stop in plan order over the same
haversine-times-road-factor model as the planner's default matrix; it waits for a window to open and spends the
stop's service time there. The ETA is the arrival, not the start of service.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from fleet.matrix import ROAD_FACTOR, URBAN_KMH, haversine_km


@dataclass(frozen=True, slots=True)
class Remaining:
    stop_id: int
    latitude: float
    longitude: float
    window_start: datetime | None = None
    service_min: float = 0.0


def etas(
    position: tuple[float, float],
    at: datetime,
    stops: Sequence[Remaining],
    *,
    road_factor: float = ROAD_FACTOR,
    speed_kmh: float = URBAN_KMH,
) -> list[tuple[int, datetime]]:
    """(stop id, ETA) for each of `stops` in order, driving from `position` (lat, lon) seen at `at`."""
    if road_factor <= 0 or speed_kmh <= 0:
        raise ValueError("road_factor and speed_kmh must be positive")
    here, clock = position, at
    out: list[tuple[int, datetime]] = []
    for stop in stops:
        km = road_factor * haversine_km(here[0], here[1], stop.latitude, stop.longitude)
        arrival = clock + timedelta(hours=km / speed_kmh)
        out.append((stop.stop_id, arrival))
        begin = max(arrival, stop.window_start) if stop.window_start is not None else arrival
        clock = begin + timedelta(minutes=stop.service_min)
        here = (stop.latitude, stop.longitude)
    return out


def changed(before: dict[int, datetime | None], after: Sequence[tuple[int, datetime]], *, by_s: float = 30.0
            ) -> list[tuple[int, datetime]]:
    """The ETAs of `after` that differ from `before` by more than `by_s` seconds (or were unknown)."""
    moved = []
    for stop_id, eta in after:
        old = before.get(stop_id)
        if old is None or abs((eta - old).total_seconds()) > by_s:
            moved.append((stop_id, eta))
    return moved

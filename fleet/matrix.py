"""Travel matrices: haversine distance times a road factor over a speed profile (pure), or OSRM's table service.

`osrm_table` is the only I/O here; everything else takes coordinates and returns numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
ROAD_FACTOR = 1.3  # road distance over great-circle distance, a common urban figure
URBAN_KMH = 40.0


@dataclass(frozen=True, slots=True)
class Matrices:
    """`distance_km[i][j]` and `duration_s[i][j]` from point i to point j."""

    distance_km: list[list[float]]
    duration_s: list[list[float]]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def haversine_matrices(
    points: Sequence[tuple[float, float]], *, road_factor: float = ROAD_FACTOR, speed_kmh: float = URBAN_KMH
) -> Matrices:
    """Matrices over `points` given as (lat, lon) in degrees."""
    if road_factor <= 0 or speed_kmh <= 0:
        raise ValueError("road_factor and speed_kmh must be positive")
    distance = [[road_factor * haversine_km(*a, *b) for b in points] for a in points]
    seconds_per_km = 3600.0 / speed_kmh
    duration = [[d * seconds_per_km for d in row] for row in distance]
    return Matrices(distance_km=distance, duration_s=duration)


def osrm_table(
    url: str, points: Sequence[tuple[float, float]], *, timeout_s: float = 30.0, client: httpx.Client | None = None
) -> Matrices:
    """Road distances and durations from an OSRM server's table service; `points` are (lat, lon)."""
    coordinates = ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points)
    http = client or httpx.Client(timeout=timeout_s)
    try:
        response = http.get(
            f"{url.rstrip('/')}/table/v1/driving/{coordinates}", params={"annotations": "distance,duration"}
        )
    finally:
        if client is None:
            http.close()
    response.raise_for_status()
    body = response.json()
    if body.get("code") != "Ok":
        raise RuntimeError(f"OSRM table failed: {body.get('code')}: {body.get('message', '')}")
    # OSRM answers null for unreachable pairs; treat those as unusable rather than free
    distance = [[math.inf if m is None else m / 1000.0 for m in row] for row in body["distances"]]
    duration = [[math.inf if s is None else float(s) for s in row] for row in body["durations"]]
    return Matrices(distance_km=distance, duration_s=duration)

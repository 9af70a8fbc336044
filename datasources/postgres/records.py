from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: int
    name: str
    slug: str
    timezone: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    account_id: int
    email: str
    full_name: str
    role: str
    phone: str | None
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class VehicleRecord:
    id: int
    account_id: int
    plate: str
    name: str
    kind: str
    capacity_kg: float
    status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RouteRecord:
    id: int
    account_id: int
    number: str
    name: str
    status: str
    date: date
    driver_id: int | None
    vehicle_id: int | None
    distance_km: float | None
    duration_min: float | None
    optimized: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StopRecord:
    id: int
    account_id: int
    route_id: int
    sequence: int
    kind: str
    address: str
    latitude: float
    longitude: float
    window_start: datetime | None
    window_end: datetime | None
    eta: datetime | None
    status: str
    lead_id: str | None
    arrived_at: datetime | None

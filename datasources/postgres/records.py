from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time


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
    on_duty: bool = False  # a closer the voice agent may transfer hot leads to (with a phone)


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
    capacity: int = 100
    shift_start: time = time(8)
    shift_end: time = time(18)
    depot_latitude: float | None = None
    depot_longitude: float | None = None
    end_latitude: float | None = None
    end_longitude: float | None = None


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
    started_at: datetime | None = None
    completed_at: datetime | None = None
    plan_job: str | None = None


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
    demand: int = 0
    service_min: float = 0.0
    completed_at: datetime | None = None
    failure_reason: str | None = None
    proof_note: str | None = None


@dataclass(frozen=True, slots=True)
class Credentials:
    """What sign-in needs of a user; never leaves the identity resolvers."""

    user: UserRecord
    password_hash: str | None
    session_epoch: int


@dataclass(frozen=True, slots=True)
class SessionState:
    """Whether a user's access tokens of one session family still stand (the fallback when Redis has no copy)."""

    active: bool
    session_epoch: int
    family_revoked: bool


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: int
    account_id: int
    name: str
    role: str
    prefix: str
    created_by: int | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class InviteRecord:
    id: int
    account_id: int
    email: str
    role: str
    invited_by: int | None
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None

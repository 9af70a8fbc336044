"""The route and stop lifecycles: which status may follow which, and why a refused move is refused.

Routes: PLANNED -> ASSIGNED -> IN_PROGRESS -> COMPLETED, and CANCELED from any state before COMPLETED.
Stops: PENDING (or EN_ROUTE) -> ARRIVED -> COMPLETED, and FAILED (with a reason) from any state before an end.
Pure: the live-fleet resolvers ask `route_move`/`stop_move` under the row's lock and store what they allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RouteStatus(StrEnum):
    planned = "planned"
    assigned = "assigned"
    in_progress = "in_progress"
    completed = "completed"
    canceled = "canceled"


class StopStatus(StrEnum):
    pending = "pending"
    en_route = "en_route"
    arrived = "arrived"
    completed = "completed"
    skipped = "skipped"
    failed = "failed"


ROUTE_MOVES: dict[RouteStatus, frozenset[RouteStatus]] = {
    RouteStatus.planned: frozenset({RouteStatus.assigned, RouteStatus.canceled}),
    RouteStatus.assigned: frozenset({RouteStatus.planned, RouteStatus.in_progress, RouteStatus.canceled}),
    RouteStatus.in_progress: frozenset({RouteStatus.completed, RouteStatus.canceled}),
    RouteStatus.completed: frozenset(),
    RouteStatus.canceled: frozenset(),
}

STOP_MOVES: dict[StopStatus, frozenset[StopStatus]] = {
    StopStatus.pending: frozenset({StopStatus.en_route, StopStatus.arrived, StopStatus.failed, StopStatus.skipped}),
    StopStatus.en_route: frozenset({StopStatus.arrived, StopStatus.failed, StopStatus.skipped}),
    StopStatus.arrived: frozenset({StopStatus.completed, StopStatus.failed}),
    StopStatus.completed: frozenset(),
    StopStatus.skipped: frozenset(),
    StopStatus.failed: frozenset(),
}

# a stop is visited only while its route is being driven
DRIVING = frozenset({RouteStatus.in_progress})
OPEN_STOPS = frozenset({StopStatus.pending, StopStatus.en_route, StopStatus.arrived})


@dataclass(frozen=True, slots=True)
class Refusal:
    """`field` names the input at fault (`routeId`, `stopId`, `reason`), `reason` says why."""

    field: str
    reason: str


def route_move(current: str, target: str, *, has_driver: bool = True, has_vehicle: bool = True) -> Refusal | None:
    """None when a route in `current` may become `target`."""
    now, to = RouteStatus(current), RouteStatus(target)
    if to not in ROUTE_MOVES[now]:
        ended = " (it has ended)" if not ROUTE_MOVES[now] else ""
        return Refusal("routeId", f"a route {now.value} cannot become {to.value}{ended}")
    if to is RouteStatus.in_progress and not has_driver:
        return Refusal("routeId", "a route needs a driver before it starts (assignRoute)")
    if to is RouteStatus.in_progress and not has_vehicle:
        return Refusal("routeId", "a route needs a vehicle before it starts (assignRoute)")
    return None


def stop_move(current: str, target: str, *, route_status: str, reason: str | None = None) -> Refusal | None:
    """None when a stop in `current`, on a route in `route_status`, may become `target`."""
    now, to, route = StopStatus(current), StopStatus(target), RouteStatus(route_status)
    if to in (StopStatus.arrived, StopStatus.completed) and route not in DRIVING:
        return Refusal("stopId", f"the stop's route is {route.value}; start it first (startRoute)")
    if to not in STOP_MOVES[now]:
        if not STOP_MOVES[now]:
            return Refusal("stopId", f"the stop is already {now.value}")
        if to is StopStatus.completed:
            return Refusal("stopId", f"a stop {now.value} cannot be completed before arriving (arriveAtStop)")
        return Refusal("stopId", f"a stop {now.value} cannot become {to.value}")
    if to is StopStatus.failed and not (reason or "").strip():
        return Refusal("reason", "a failed stop needs a reason")
    return None


def route_done(stop_statuses: list[str]) -> bool:
    """Whether a route in progress has no stop left open, so it is completed."""
    return all(StopStatus(s) not in OPEN_STOPS for s in stop_statuses)

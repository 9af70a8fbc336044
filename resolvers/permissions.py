"""Who may do what: the role matrix, the row scopes of agents and drivers, and its two enforcers.

Queries and fields carry a `can(action)` extension (schema/permissions.py: a `FORBIDDEN` error); mutations
`requires(action)`, which returns a `PermissionDenied` failure before anything is read or written. Row scopes
(an agent's own and unassigned leads, a driver's own routes) are applied by the caller's loaders.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from enum import StrEnum

from graphql import GraphQLError

from resolvers.principal import Principal, Role
from resolvers.results import Failure


class Action(StrEnum):
    read_leads = "read leads"
    write_leads = "change leads"
    write_notes = "add notes"
    link_leads = "link leads"
    read_calls = "read calls"
    place_calls = "start, hang up, transfer and speak into calls"
    read_fleet = "read routes, stops and vehicles"
    plan_routes = "create and change routes"
    update_stops = "update stop status"
    write_vehicles = "change vehicles"
    read_users = "read users"
    manage_users = "invite users, change roles, deactivate"
    manage_api_keys = "create and revoke API keys"
    edit_call_script = "change the call script"
    manage_duty = "put other users on or off duty"


OWN, ADM, MGR, AGT, DSP, DRV, VWR = (
    Role.owner, Role.admin, Role.manager, Role.agent, Role.dispatcher, Role.driver, Role.viewer
)
EVERYONE = frozenset(Role)

MATRIX: dict[Action, frozenset[Role]] = {
    # agents: their own and unassigned leads; drivers: the leads their stops visit
    Action.read_leads: frozenset({OWN, ADM, MGR, AGT, DSP, DRV, VWR}),
    Action.write_leads: frozenset({OWN, ADM, MGR, AGT}),
    Action.write_notes: frozenset({OWN, ADM, MGR, AGT}),
    Action.link_leads: frozenset({OWN, ADM, MGR, AGT}),
    Action.read_calls: frozenset({OWN, ADM, MGR, AGT, VWR}),  # agents: calls of the leads they see
    Action.place_calls: frozenset({OWN, ADM, MGR, AGT}),
    Action.read_fleet: frozenset({OWN, ADM, MGR, DSP, DRV, VWR}),  # drivers: their own routes and stops
    Action.plan_routes: frozenset({OWN, ADM, MGR, DSP}),
    Action.update_stops: frozenset({OWN, ADM, MGR, DSP, DRV}),  # drivers: stops of their own routes
    Action.write_vehicles: frozenset({OWN, ADM, MGR, DSP}),
    Action.read_users: EVERYONE,
    Action.manage_users: frozenset({OWN, ADM}),
    Action.manage_api_keys: frozenset({OWN, ADM}),
    Action.edit_call_script: frozenset({OWN, ADM, MGR}),
    Action.manage_duty: frozenset({OWN, ADM, MGR}),  # and anyone for themselves (resolvers/calls/set_on_duty.py)
}

# Anonymous callers may run only these root fields (introspection is off in production anyway).
PUBLIC_FIELDS = frozenset({"signIn", "refreshSession", "acceptInvite", "__typename", "__schema", "__type"})

# the roles a role may hand out (invitations, role changes, API keys): never above its own
GRANTS: dict[Role, frozenset[Role]] = {
    Role.owner: EVERYONE,
    Role.admin: EVERYONE - {Role.owner},
}


def allowed(principal: Principal | None, action: Action) -> bool:
    return principal is not None and principal.role in MATRIX[action]


def can_grant(principal: Principal, role: Role) -> bool:
    return role in GRANTS.get(principal.role, frozenset())


def denied(action: Action, principal: Principal | None) -> str:
    if principal is None:
        return "sign in first"
    return f"the {principal.role.value} role may not {action.value}"


class Unauthenticated(GraphQLError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason, extensions={"code": "UNAUTHENTICATED"})


class Forbidden(GraphQLError):
    def __init__(self, action: Action, principal: Principal | None) -> None:
        super().__init__(denied(action, principal), extensions={"code": "FORBIDDEN"})


def requires[**P, T](action: Action) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T | Failure]]]:
    """For mutation resolvers whose first argument is the request context."""

    def wrap(resolver: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T | Failure]]:
        @functools.wraps(resolver)
        async def checked(*args: P.args, **kwargs: P.kwargs) -> T | Failure:
            principal = args[0].principal  # type: ignore[attr-defined]
            if not allowed(principal, action):
                return Failure.forbidden(denied(action, principal))
            return await resolver(*args, **kwargs)

        return checked

    return wrap

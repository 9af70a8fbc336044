"""inviteUser: a one-time set-password token for a new user of the caller's account, shown once."""

from __future__ import annotations

from dataclasses import dataclass

from datasources.postgres import identity
from datasources.postgres.records import InviteRecord
from resolvers.context import RequestContext
from resolvers.identity.sessions import now
from resolvers.identity.tokens import digest, new_secret
from resolvers.leads import validate
from resolvers.permissions import Action, can_grant, requires
from resolvers.principal import Role
from resolvers.results import Failure


@dataclass(frozen=True)
class Invitation:
    invite: InviteRecord
    token: str


@requires(Action.manage_users)
async def invite_user(ctx: RequestContext, email: str, role: Role) -> Invitation | Failure:
    caller = ctx.caller
    if caller.user_id is None:
        return Failure.forbidden("API keys may not manage users")
    if not can_grant(caller, role):
        return Failure.forbidden(f"the {caller.role.value} role may not grant the {role.value} role")
    try:
        email = validate.email(email)
    except ValueError as exc:
        return Failure.invalid("email", str(exc))
    if await identity.email_taken(ctx.stores.db, email=email):
        return Failure.conflict("email", f"a user with email {email!r} already exists")
    token = new_secret()
    invite = await identity.create_invite(
        ctx.stores.db, account_id=caller.account_id, email=email, role=role.value, token_hash=digest(token),
        invited_by=caller.user_id, expires_at=now() + ctx.auth.invite_ttl,
    )
    return Invitation(invite, token)

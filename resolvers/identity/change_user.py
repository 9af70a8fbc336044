"""updateUserRole and deactivateUser: either ends the user's sessions at once, on every replica."""

from __future__ import annotations

from datasources.postgres import identity
from datasources.postgres.errors import NotFound
from datasources.postgres.records import UserRecord
from resolvers.context import RequestContext
from resolvers.identity.sessions import now, publish_epoch
from resolvers.ids import decode_int
from resolvers.permissions import Action, can_grant, requires
from resolvers.principal import Role
from resolvers.results import Failure


async def _target(ctx: RequestContext, user_id: str) -> UserRecord | Failure:
    caller = ctx.caller
    if caller.user_id is None:
        return Failure.forbidden("API keys may not manage users")
    key = decode_int(user_id, "User", field="userId")
    if key == caller.user_id:
        return Failure.forbidden("you may not change your own role or deactivate yourself")
    user = await ctx.loaders.user.load(key)
    if user is None:
        return Failure.not_found("userId", "user")
    if not can_grant(caller, Role(user.role)):
        return Failure.forbidden(f"the {caller.role.value} role may not change a user with the {user.role} role")
    return user


async def _apply(ctx: RequestContext, user: UserRecord, *, role: Role | None = None, active: bool | None = None
                 ) -> UserRecord | Failure:
    try:
        record, epoch = await identity.change_user(
            ctx.stores.db, account_id=ctx.account_id, user_id=user.id, at=now(),
            role=role.value if role is not None else None, active=active,
        )
    except NotFound:
        return Failure.not_found("userId", "user")
    await publish_epoch(ctx.stores, ctx.auth, user_id=record.id, epoch=epoch if record.active else None)
    ctx.loaders.user.clear(record.id).prime(record.id, record)
    return record


@requires(Action.manage_users)
async def update_user_role(ctx: RequestContext, user_id: str, role: Role) -> UserRecord | Failure:
    user = await _target(ctx, user_id)
    if isinstance(user, Failure):
        return user
    if not can_grant(ctx.caller, role):
        return Failure.forbidden(f"the {ctx.caller.role.value} role may not grant the {role.value} role")
    return await _apply(ctx, user, role=role)


@requires(Action.manage_users)
async def deactivate_user(ctx: RequestContext, user_id: str) -> UserRecord | Failure:
    user = await _target(ctx, user_id)
    if isinstance(user, Failure):
        return user
    return await _apply(ctx, user, active=False)

"""changePassword: needs the current password; ends every other session and returns a fresh one."""

from __future__ import annotations

from datasources.postgres import identity
from resolvers.context import RequestContext
from resolvers.identity import passwords
from resolvers.identity.sessions import SignedIn, now, publish_epoch, start_session
from resolvers.results import Failure


async def change_password(ctx: RequestContext, current: str, new: str) -> SignedIn | Failure:
    caller = ctx.caller
    if caller.user_id is None:
        return Failure.invalid("currentPassword", "an API key has no password")
    reason = passwords.check_new(new)
    if reason is not None:
        return Failure.invalid("newPassword", reason)
    creds = await identity.credentials(ctx.stores.db, account_id=caller.account_id, user_id=caller.user_id)
    if creds is None or not await passwords.verify(creds.password_hash, current):
        return Failure.invalid("currentPassword", "is not the current password")
    epoch = await identity.set_password(
        ctx.stores.db, account_id=caller.account_id, user_id=caller.user_id,
        password_hash=await passwords.hash_password(new), at=now(), end_sessions=True,
    )
    await publish_epoch(ctx.stores, ctx.auth, user_id=caller.user_id, epoch=epoch)
    fresh = await identity.credentials(ctx.stores.db, account_id=caller.account_id, user_id=caller.user_id)
    assert fresh is not None
    return await start_session(ctx.stores, ctx.auth, fresh)

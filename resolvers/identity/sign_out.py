"""signOut: ends this sign-in (its refresh tokens and access tokens), or with `everywhere` every one of the user."""

from __future__ import annotations

from datasources.postgres import identity
from resolvers.context import RequestContext
from resolvers.identity.sessions import end_family, now, publish_epoch
from resolvers.results import Failure


async def sign_out(ctx: RequestContext, everywhere: bool) -> bool | Failure:
    caller = ctx.caller
    if caller.user_id is None:
        return Failure.invalid("everywhere", "an API key has no session to end: revoke the key instead")
    if everywhere:
        epoch = await identity.end_sessions(ctx.stores.db, account_id=caller.account_id, user_id=caller.user_id,
                                            at=now())
        await publish_epoch(ctx.stores, ctx.auth, user_id=caller.user_id, epoch=epoch)
    elif caller.session_id is not None:
        await end_family(ctx.stores, ctx.auth, account_id=caller.account_id, family_id=caller.session_id)
    return True

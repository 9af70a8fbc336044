"""acceptInvite: the invited person names themselves and sets a password, and is signed in."""

from __future__ import annotations

from datasources.postgres import identity
from datasources.postgres.errors import Conflict
from resolvers.context import RequestContext
from resolvers.identity import passwords
from resolvers.identity.sessions import SignedIn, now, start_session
from resolvers.identity.tokens import digest
from resolvers.results import Failure


async def accept_invite(ctx: RequestContext, token: str, full_name: str, password: str) -> SignedIn | Failure:
    name = full_name.strip()
    if not name or len(name) > 200:
        return Failure.invalid("fullName", "must be 1 to 200 characters")
    reason = passwords.check_new(password)
    if reason is not None:
        return Failure.invalid("password", reason)
    if not token or len(token) > 200:
        return Failure.invalid("token", "is not a valid invitation")
    try:
        user = await identity.accept_invite(
            ctx.stores.db, token_hash=digest(token), full_name=name,
            password_hash=await passwords.hash_password(password), at=now(),
        )
    except Conflict as exc:
        return Failure.conflict(exc.field, str(exc))
    if user is None:
        return Failure.invalid("token", "is not a valid invitation, or it was used or has expired")
    creds = await identity.credentials(ctx.stores.db, account_id=user.account_id, user_id=user.id)
    assert creds is not None
    return await start_session(ctx.stores, ctx.auth, creds)

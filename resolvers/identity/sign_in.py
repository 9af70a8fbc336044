"""signIn: the same answer, in the same time, for an unknown email and a wrong password; a lock after N tries."""

from __future__ import annotations

from datasources.postgres import identity
from datasources.redis import auth as marks
from resolvers.context import RequestContext
from resolvers.identity import passwords
from resolvers.identity.sessions import SignedIn, security_event, start_session
from resolvers.results import Failure

WRONG = "the email or password is incorrect"


def locked(retry_after: int) -> Failure:
    minutes = max(1, -(-retry_after // 60))
    return Failure.locked(f"too many failed sign-ins for this email: try again in {minutes} min", retry_after)


async def sign_in(ctx: RequestContext, email: str, password: str) -> SignedIn | Failure:
    email = email.strip()
    if not email or len(email) > 320:
        return Failure.invalid("email", "must be an email address")
    redis, auth = ctx.stores.redis, ctx.auth
    try:
        failures, ttl = await marks.failed_sign_ins(redis, email=email)
    except marks.Unavailable as exc:  # without the counter there is no lockout: refuse rather than allow guessing
        return Failure.unavailable("redis", exc)
    if failures >= auth.max_failed_sign_ins:
        return locked(ttl)
    creds = await identity.credentials_by_email(ctx.stores.db, email=email)
    stored = creds.password_hash if creds is not None else None
    if not await passwords.verify(stored, password) or creds is None or not creds.user.active:
        failures = await marks.count_failed_sign_in(redis, email=email, window=auth.lockout)
        if failures >= auth.max_failed_sign_ins:
            security_event("sign_in_locked", email_digest=marks.email_digest(email), failures=failures)
            return locked(int(auth.lockout.total_seconds()))
        return Failure.unauthenticated(WRONG)
    await marks.clear_failed_sign_ins(redis, email=email)
    if stored is not None and passwords.needs_rehash(stored):
        await identity.rehash_password(
            ctx.stores.db, account_id=creds.user.account_id, user_id=creds.user.id, old_hash=stored,
            new_hash=await passwords.hash_password(password),
        )
    return await start_session(ctx.stores, auth, creds)

"""refreshSession: spends a refresh token for a new pair; a token presented twice revokes its whole family."""

from __future__ import annotations

from datasources.postgres import identity
from datasources.postgres.identity import Rotation
from datasources.redis import auth as marks
from resolvers.context import RequestContext
from resolvers.identity.sessions import SignedIn, now, security_event, start_session
from resolvers.identity.tokens import digest, new_secret
from resolvers.results import Failure

REASONS = {
    Rotation.unknown: "the refresh token is not valid",
    Rotation.expired: "the refresh token has expired: sign in again",
    Rotation.revoked: "the session has been signed out: sign in again",
    Rotation.reused: "the refresh token was already used: every session of this sign-in is now signed out",
    Rotation.inactive: "the user has been deactivated",
}


async def refresh_session(ctx: RequestContext, refresh_token: str) -> SignedIn | Failure:
    if not refresh_token or len(refresh_token) > 200:
        return Failure.unauthenticated(REASONS[Rotation.unknown])
    at, auth = now(), ctx.auth
    following = new_secret()
    outcome = await identity.rotate_refresh_token(
        ctx.stores.db, token_hash=digest(refresh_token), new_hash=digest(following), expires_at=at + auth.refresh_ttl,
        at=at,
    )
    if outcome.status is Rotation.reused:
        assert outcome.family_id is not None
        await marks.mark_family_revoked(ctx.stores.redis, family_id=outcome.family_id, keep=auth.access_ttl)
        security_event("refresh_token_reuse", family_id=outcome.family_id)
    if outcome.status is not Rotation.rotated or outcome.credentials is None:
        return Failure.unauthenticated(REASONS[outcome.status])
    return await start_session(ctx.stores, auth, outcome.credentials, family_id=outcome.family_id,
                               refresh_token=following)

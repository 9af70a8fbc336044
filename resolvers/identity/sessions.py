"""Sessions: starting one (a token pair), and deciding whether a presented credential still stands.

PostgreSQL is the record (users, refresh-token families, API keys); Redis keeps the marks every replica
checks on each request (the user's session epoch, revoked families), refilled from PostgreSQL when missing.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from datasources.postgres import identity
from datasources.postgres.records import Credentials, UserRecord
from datasources.redis import auth as marks
from datasources.stores import Stores
from resolvers.identity.config import AuthConfig
from resolvers.identity.tokens import (
    TokenError,
    digest,
    is_api_key,
    issue_access_token,
    new_secret,
    verified_access_token,
)
from resolvers.principal import Principal, Role

log = logging.getLogger("switchboard.security")


def now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SignedIn:
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    user: UserRecord


def security_event(event: str, **fields: object) -> None:
    """One log line per security-relevant event, on its own logger so operators can route and alert on it."""
    log.warning("security event: %s", event, extra={"security_event": event, **fields})


async def start_session(
    stores: Stores, config: AuthConfig, creds: Credentials, *, family_id: str | None = None,
    refresh_token: str | None = None,
) -> SignedIn:
    """A new family (a sign-in), or the next member of one (a refresh, whose token row the caller wrote)."""
    at = now()
    user = creds.user
    if family_id is None:
        family_id = str(uuid.uuid4())
        refresh_token = new_secret()
        await identity.add_refresh_token(
            stores.db, account_id=user.account_id, user_id=user.id, family_id=family_id,
            token_hash=digest(refresh_token), expires_at=at + config.refresh_ttl,
        )
    assert refresh_token is not None
    access = issue_access_token(
        config, user_id=user.id, account_id=user.account_id, role=user.role, session_id=family_id,
        epoch=creds.session_epoch, now=at,
    )
    with contextlib.suppress(marks.Unavailable):  # a cache of the record: the check falls back to PostgreSQL
        await marks.set_session_epoch(stores.redis, user_id=user.id, epoch=creds.session_epoch,
                                      keep=config.access_ttl, refill=True)
    return SignedIn(access.token, access.expires_at, refresh_token, at + config.refresh_ttl, user)


async def publish_epoch(stores: Stores, config: AuthConfig, *, user_id: int, epoch: int | None) -> None:
    """Tells every replica at once that a user's older tokens stopped (None: the user is deactivated)."""
    await marks.set_session_epoch(stores.redis, user_id=user_id, epoch=epoch, keep=config.access_ttl)


async def end_family(stores: Stores, config: AuthConfig, *, account_id: int, family_id: str) -> None:
    await identity.revoke_family(stores.db, account_id=account_id, family_id=family_id, at=now())
    await marks.mark_family_revoked(stores.redis, family_id=family_id, keep=config.access_ttl)


async def authenticate(stores: Stores, config: AuthConfig, authorization: str, *, session: bool = True) -> Principal:
    """The principal an `Authorization` value names, or TokenError with the reason. `session=False` leaves an
    access token's session marks to the caller (`session_pending`): HTTP operations check them in the round trip
    that takes their cost budget (ops/limits.py)."""
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise TokenError("the Authorization header must be 'Bearer <access token or API key>'")
    if is_api_key(credential):
        key = await identity.api_key_by_hash(stores.db, key_hash=digest(credential))
        if key is None:
            raise TokenError("the API key is not valid or has been revoked")
        return Principal(account_id=key.account_id, role=Role(key.role), api_key_id=key.id,
                         api_key_prefix=key.prefix)
    principal = verified_access_token(config, credential)
    if not session:
        if (reason := token_expired(principal)) is not None:  # a remembered token is checked again each time
            raise TokenError(reason)
        return principal
    reason = await session_ended(stores, config, principal)
    if reason is not None:
        raise TokenError(reason)
    return principal


async def session_ended(stores: Stores, config: AuthConfig, principal: Principal) -> str | None:
    """Why the principal's credential no longer stands, or None. Checked on every request, and by live
    subscriptions every `session_recheck`."""
    if (reason := token_expired(principal)) is not None:
        return reason
    if principal.api_key_id is not None:
        return await _api_key_ended(stores, principal)
    assert principal.user_id is not None
    try:
        epoch, family_revoked = await marks.session_marks(
            stores.redis, user_id=principal.user_id, family_id=principal.session_id
        )
    except marks.Unavailable:
        log.warning("Redis is unavailable: session checked against PostgreSQL")
        epoch, family_revoked = None, False
    if epoch is None:  # Redis lost its copy (or is down): read the record and put the copy back
        state = await identity.session_state(
            stores.db, account_id=principal.account_id, user_id=principal.user_id, family_id=principal.session_id
        )
        epoch = str(state.session_epoch) if state.active else marks.INACTIVE
        family_revoked = state.family_revoked
        with contextlib.suppress(marks.Unavailable):
            await marks.set_session_epoch(stores.redis, user_id=principal.user_id, keep=config.access_ttl,
                                          epoch=state.session_epoch if state.active else None, refill=True)
            if state.family_revoked and principal.session_id is not None:
                await marks.mark_family_revoked(stores.redis, family_id=principal.session_id, keep=config.access_ttl)
    return marks_verdict(principal, epoch, family_revoked)


def token_expired(principal: Principal) -> str | None:
    if principal.expires_at is not None and principal.expires_at <= now():
        return "the access token has expired: refresh the session or sign in again"
    return None


def session_pending(principal: Principal | None) -> bool:
    """Whether `authenticate(session=False)` left this principal's session marks unchecked: access tokens only
    (an API key is checked against PostgreSQL when it is presented)."""
    return principal is not None and principal.api_key_id is None


def marks_verdict(principal: Principal, epoch: str | None, family_revoked: bool) -> str | None:
    """Why the session marks Redis holds end the principal's access token, or None."""
    if epoch == marks.INACTIVE:
        return "the user has been deactivated"
    if epoch != str(principal.epoch):
        return "the session has ended (signed out everywhere, or the password or role changed): sign in again"
    if family_revoked:
        return "the session has been signed out: sign in again"
    return None


async def _api_key_ended(stores: Stores, principal: Principal) -> str | None:
    assert principal.api_key_id is not None
    live = await identity.api_key_live(stores.db, account_id=principal.account_id, key_id=principal.api_key_id)
    return None if live else "the API key has been revoked"

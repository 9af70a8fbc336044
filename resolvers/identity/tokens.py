"""Access tokens (JWT, HS256) and the opaque secrets (refresh tokens, invitations, API keys): pure functions.

Every claim is required and checked on the way in: `sub`, `acct`, `role`, `jti`, `iat`, `exp`, `iss`, `aud`,
and ours, `sid` (the sign-in the token belongs to) and `sv` (the user's session epoch when it was issued).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import jwt

from resolvers.identity.config import AuthConfig
from resolvers.principal import Principal, Role

ALGORITHM = "HS256"
CLAIMS = ["sub", "acct", "role", "jti", "iat", "exp", "iss", "aud", "sid", "sv"]
API_KEY_PREFIX = "sbk_"
LEEWAY_SECONDS = 5  # clock skew between replicas


class TokenError(ValueError):
    """Why a presented credential is refused; the message is safe to show the caller."""


@dataclass(frozen=True)
class Issued:
    token: str
    expires_at: datetime


def issue_access_token(
    config: AuthConfig, *, user_id: int, account_id: int, role: str, session_id: str, epoch: int, now: datetime
) -> Issued:
    expires = datetime.fromtimestamp(int((now + config.access_ttl).timestamp()), UTC)
    claims = {
        "sub": str(user_id), "acct": account_id, "role": role, "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()), "exp": int(expires.timestamp()), "iss": config.issuer, "aud": config.audience,
        "sid": session_id, "sv": epoch,
    }
    return Issued(jwt.encode(claims, config.secret, algorithm=ALGORITHM), expires)


def read_access_token(config: AuthConfig, token: str, *, now: datetime | None = None) -> Principal:
    """The principal a token names, or TokenError saying why not (expired, bad signature, wrong audience...)."""
    try:
        claims = jwt.decode(
            token, config.secret, algorithms=[ALGORITHM], audience=config.audience, issuer=config.issuer,
            leeway=LEEWAY_SECONDS, options={"require": CLAIMS},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("the access token has expired: refresh the session or sign in again") from None
    except jwt.InvalidTokenError as exc:
        raise TokenError(f"the access token is not valid: {exc}") from None
    sub, acct, role, sid, sv = claims["sub"], claims["acct"], claims["role"], claims["sid"], claims["sv"]
    if not (isinstance(sub, str) and sub.isdigit() and type(acct) is int and type(sv) is int
            and isinstance(sid, str) and role in Role.__members__):
        raise TokenError("the access token is not valid: malformed claims")
    return Principal(
        account_id=acct, role=Role(role), user_id=int(sub), session_id=sid, epoch=sv,
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
    )


@lru_cache(maxsize=4096)
def verified_access_token(config: AuthConfig, token: str) -> Principal:
    """`read_access_token`, remembered: a client sends the same token with every request, and checking its
    signature and claims again gives the same principal. Only valid tokens are kept (a refusal raises), and
    nothing that can change is: expiry, the session epoch and revocation are checked on every request
    (`sessions.session_ended`)."""
    return read_access_token(config, token)


def new_secret() -> str:
    """An opaque, unguessable token (256 bits)."""
    return secrets.token_urlsafe(32)


def new_api_key() -> tuple[str, str]:
    """(the key, shown once; its prefix, kept to tell keys apart)."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[: len(API_KEY_PREFIX) + 6]


def digest(secret: str) -> str:
    """How opaque tokens are stored: they carry 256 bits, so one SHA-256 is enough (no slow hash needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def is_api_key(credential: str) -> bool:
    return credential.startswith(API_KEY_PREFIX)

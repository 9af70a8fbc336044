from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class AuthConfig:
    """What the identity resolvers need of the settings; ops builds it once."""

    secret: bytes = b""
    access_ttl: timedelta = timedelta(hours=24)
    refresh_ttl: timedelta = timedelta(days=30)
    issuer: str = "switchboard"
    audience: str = "switchboard-api"
    max_failed_sign_ins: int = 5
    lockout: timedelta = timedelta(minutes=15)
    invite_ttl: timedelta = timedelta(days=7)
    session_recheck: timedelta = timedelta(seconds=5)

"""The server's secrets: from settings, or (outside production) made once and kept in the data folder."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

from ops.settings import Settings

DEV_JWT_SECRET_FILE = "jwt-secret.txt"


def _kept(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def signing_secret(settings: Settings) -> bytes:
    """JWT_SECRET; staging and production refuse to start without one (`production_problems`)."""
    given = settings.jwt_secret.get_secret_value()
    if given:
        return given.encode()
    if settings.profile.secrets_required:
        raise ValueError(f"JWT_SECRET must be set in {settings.environment.value}")
    return _kept(settings.data_dir / DEV_JWT_SECRET_FILE).encode()


def client_state_key(settings: Settings) -> bytes:
    """CLIENT_STATE_SECRET, else a key derived from the JWT secret (a separate key per purpose)."""
    given = settings.client_state_secret.get_secret_value()
    if given:
        return given.encode()
    return hmac.new(signing_secret(settings), b"switchboard client_state v1", hashlib.sha256).digest()

"""Who is calling: a user signed in with a JWT, or an integration with an API key. Only ops makes one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Role(StrEnum):
    owner = "owner"
    admin = "admin"
    manager = "manager"
    agent = "agent"
    dispatcher = "dispatcher"
    driver = "driver"
    viewer = "viewer"


@dataclass(frozen=True)
class Principal:
    account_id: int
    role: Role
    user_id: int | None = None
    email: str = ""
    # the sign-in (refresh-token family) an access token belongs to, and the user's session epoch at issue
    session_id: str | None = None
    epoch: int = 0
    api_key_id: int | None = None
    # the key's public prefix (`sbk_AbC123`): what COST_BUDGET_BY_API_KEY names a key by
    api_key_prefix: str | None = None
    expires_at: datetime | None = None

    @property
    def subject(self) -> str:
        """A stable name for logs and limits: `user:12` or `apikey:3`."""
        return f"user:{self.user_id}" if self.user_id is not None else f"apikey:{self.api_key_id}"

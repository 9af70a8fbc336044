from __future__ import annotations

from dataclasses import dataclass
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
    """Who is calling. Until authentication lands, ops hands every request a development principal."""

    user_id: int
    account_id: int
    role: Role
    email: str = ""

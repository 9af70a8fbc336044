from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from datasources.postgres.records import AccountRecord, UserRecord
from resolvers.ids import encode
from schema.node import Node


@strawberry.enum
class Role(Enum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    AGENT = "agent"
    DISPATCHER = "dispatcher"
    DRIVER = "driver"
    VIEWER = "viewer"


@strawberry.type(description="A tenant: it owns users, leads, vehicles and routes (PostgreSQL).")
class Account(Node):
    id: strawberry.ID
    name: str
    slug: str
    timezone: str
    created_at: datetime

    @classmethod
    def from_record(cls, r: AccountRecord) -> Account:
        return cls(
            id=strawberry.ID(encode("Account", r.id)), name=r.name, slug=r.slug, timezone=r.timezone,
            created_at=r.created_at,
        )


@strawberry.type(description="A person who signs in: agents, dispatchers, drivers and their managers (PostgreSQL).")
class User(Node):
    id: strawberry.ID
    email: str
    full_name: str
    role: Role
    phone: str | None
    active: bool
    created_at: datetime
    on_duty: bool = strawberry.field(description="A closer: the voice agent transfers hot leads to a user on duty "
                                                 "with a phone who is not on another live call.")

    @classmethod
    def from_record(cls, r: UserRecord) -> User:
        return cls(
            id=strawberry.ID(encode("User", r.id)), email=r.email, full_name=r.full_name, role=Role(r.role),
            phone=r.phone, active=r.active, created_at=r.created_at, on_duty=r.on_duty,
        )

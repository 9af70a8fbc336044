from __future__ import annotations

from datetime import datetime

import strawberry

from datasources.postgres.records import ApiKeyRecord, InviteRecord
from resolvers.identity.sessions import SignedIn
from resolvers.ids import encode
from schema.accounts.types import Account, Role, User


@strawberry.type(description="A signed-in session: send `accessToken` as `Authorization: Bearer ...`; spend "
                             "`refreshToken` once with `refreshSession` for the next pair.")
class SignInPayload:
    access_token: str
    access_token_expires_at: datetime
    refresh_token: str
    refresh_token_expires_at: datetime
    user: User

    @classmethod
    def from_session(cls, s: SignedIn) -> SignInPayload:
        return cls(
            access_token=s.access_token, access_token_expires_at=s.access_expires_at, refresh_token=s.refresh_token,
            refresh_token_expires_at=s.refresh_expires_at, user=User.from_record(s.user),
        )


@strawberry.type(description="The caller: a user (null for an API key), their account and role.")
class Me:
    user: User | None
    account: Account
    role: Role


@strawberry.type
class Invite:
    id: strawberry.ID
    email: str
    role: Role
    expires_at: datetime

    @classmethod
    def from_record(cls, r: InviteRecord) -> Invite:
        return cls(id=strawberry.ID(str(r.id)), email=r.email, role=Role(r.role), expires_at=r.expires_at)


@strawberry.type(description="A one-time set-password token for the invited person; it is shown only here.")
class InvitePayload:
    invite: Invite
    token: str


@strawberry.type(description="An integration's key; the key itself is shown once, by createApiKey.")
class ApiKey:
    id: strawberry.ID
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_record(cls, r: ApiKeyRecord) -> ApiKey:
        return cls(id=strawberry.ID(encode("ApiKey", r.id)), name=r.name, role=Role(r.role), prefix=r.prefix,
                   created_at=r.created_at, revoked_at=r.revoked_at)


@strawberry.type
class ApiKeyPayload:
    api_key: ApiKey


@strawberry.type(description="The new key: send it as `Authorization: Bearer <key>`. It is not shown again.")
class ApiKeyCreatedPayload:
    api_key: ApiKey
    key: str


@strawberry.type
class UserPayload:
    user: User


@strawberry.type
class SignOutPayload:
    signed_out: bool

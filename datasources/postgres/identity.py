"""Users' credentials and sessions, API keys and invitations.

Tokens arrive here only as SHA-256 digests: a leaked table grants nothing. Every function but the two that
find a tenant from a secret (sign-in by email, a token by its digest) takes the account and applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from datasources.instrument import round_trip
from datasources.postgres.accounts import user_record
from datasources.postgres.engine import Database
from datasources.postgres.errors import Conflict, NotFound
from datasources.postgres.models import ApiKey, Invite, RefreshToken, User
from datasources.postgres.records import ApiKeyRecord, Credentials, InviteRecord, SessionState, UserRecord


def api_key_record(row: ApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(row.id, row.account_id, row.name, row.role, row.prefix, row.created_by, row.created_at,
                        row.revoked_at)


def invite_record(row: Invite) -> InviteRecord:
    return InviteRecord(row.id, row.account_id, row.email, row.role, row.invited_by, row.created_at, row.expires_at,
                        row.accepted_at)


def _credentials(row: User) -> Credentials:
    return Credentials(user_record(row), row.password_hash, row.session_epoch)


@round_trip("postgresql")
async def credentials_by_email(db: Database, *, email: str) -> Credentials | None:
    """The one lookup without a tenant: an email signs in to exactly one account (a unique index says so)."""
    async with db.sessions() as session:
        row = await session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    return _credentials(row) if row else None


@round_trip("postgresql")
async def credentials(db: Database, *, account_id: int, user_id: int) -> Credentials | None:
    async with db.sessions() as session:
        row = await session.scalar(select(User).where(User.account_id == account_id, User.id == user_id))
    return _credentials(row) if row else None


@round_trip("postgresql")
async def set_password(
    db: Database, *, account_id: int, user_id: int, password_hash: str, at: datetime, end_sessions: bool
) -> int:
    """Stores a new hash; with `end_sessions`, every token of the user stops working. Returns the epoch."""
    async with db.sessions.begin() as session:
        values: dict[str, object] = {"password_hash": password_hash, "password_changed_at": at}
        if end_sessions:
            values["session_epoch"] = User.session_epoch + 1
            await _revoke_refresh(session, account_id=account_id, user_id=user_id, at=at)
        epoch = await session.scalar(
            update(User).where(User.account_id == account_id, User.id == user_id).values(**values)
            .returning(User.session_epoch)
        )
    if epoch is None:
        raise NotFound("User", user_id)
    return epoch


@round_trip("postgresql")
async def rehash_password(db: Database, *, account_id: int, user_id: int, old_hash: str, new_hash: str) -> None:
    """Swaps in a hash with current parameters, unless the password changed meanwhile."""
    async with db.sessions.begin() as session:
        await session.execute(
            update(User)
            .where(User.account_id == account_id, User.id == user_id, User.password_hash == old_hash)
            .values(password_hash=new_hash)
        )


@round_trip("postgresql")
async def session_state(db: Database, *, account_id: int, user_id: int, family_id: str | None) -> SessionState:
    async with db.sessions() as session:
        user = await session.scalar(select(User).where(User.account_id == account_id, User.id == user_id))
        revoked = False
        if family_id is not None:
            revoked = bool(await session.scalar(
                select(func.count()).select_from(RefreshToken).where(
                    RefreshToken.account_id == account_id, RefreshToken.family_id == family_id,
                    RefreshToken.revoked_at.is_not(None),
                )
            ))
    if user is None:
        return SessionState(active=False, session_epoch=-1, family_revoked=True)
    return SessionState(user.active, user.session_epoch, revoked)


@round_trip("postgresql")
async def add_refresh_token(
    db: Database, *, account_id: int, user_id: int, family_id: str, token_hash: str, expires_at: datetime
) -> None:
    async with db.sessions.begin() as session:
        session.add(RefreshToken(account_id=account_id, user_id=user_id, family_id=family_id, token_hash=token_hash,
                                 expires_at=expires_at))


class Rotation(StrEnum):
    rotated = "rotated"
    unknown = "unknown"
    expired = "expired"
    reused = "reused"  # a token already rotated away: its whole family is now revoked
    revoked = "revoked"
    inactive = "inactive"


@dataclass(frozen=True, slots=True)
class RotationOutcome:
    status: Rotation
    family_id: str | None = None
    credentials: Credentials | None = None


@round_trip("postgresql")
async def rotate_refresh_token(
    db: Database, *, token_hash: str, new_hash: str, expires_at: datetime, at: datetime
) -> RotationOutcome:
    """Spends one refresh token for the next of its family, under a row lock so two racing refreshes of the
    same token cannot both succeed: the second sees it rotated, which revokes the family."""
    async with db.sessions.begin() as session:
        token = await session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        )
        if token is None:
            return RotationOutcome(Rotation.unknown)
        family = token.family_id
        if token.revoked_at is not None:
            return RotationOutcome(Rotation.revoked, family)
        if token.rotated_at is not None:
            await session.execute(
                update(RefreshToken)
                .where(RefreshToken.family_id == family, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=at)
            )
            return RotationOutcome(Rotation.reused, family)
        if token.expires_at <= at:
            return RotationOutcome(Rotation.expired, family)
        user = await session.scalar(select(User).where(User.id == token.user_id, User.account_id == token.account_id))
        if user is None or not user.active:
            return RotationOutcome(Rotation.inactive, family)
        token.rotated_at = at
        session.add(RefreshToken(account_id=token.account_id, user_id=token.user_id, family_id=family,
                                 token_hash=new_hash, expires_at=expires_at))
        return RotationOutcome(Rotation.rotated, family, _credentials(user))


@round_trip("postgresql")
async def revoke_family(db: Database, *, account_id: int, family_id: str, at: datetime) -> None:
    async with db.sessions.begin() as session:
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.account_id == account_id, RefreshToken.family_id == family_id,
                   RefreshToken.revoked_at.is_(None))
            .values(revoked_at=at)
        )


async def _revoke_refresh(session: AsyncSession, *, account_id: int, user_id: int, at: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.account_id == account_id, RefreshToken.user_id == user_id,
               RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )


@round_trip("postgresql")
async def end_sessions(db: Database, *, account_id: int, user_id: int, at: datetime) -> int:
    """Revokes every refresh token of the user and bumps the epoch, so its access tokens stop too."""
    async with db.sessions.begin() as session:
        await _revoke_refresh(session, account_id=account_id, user_id=user_id, at=at)
        epoch = await session.scalar(
            update(User).where(User.account_id == account_id, User.id == user_id)
            .values(session_epoch=User.session_epoch + 1).returning(User.session_epoch)
        )
    if epoch is None:
        raise NotFound("User", user_id)
    return epoch


@round_trip("postgresql")
async def change_user(
    db: Database, *, account_id: int, user_id: int, at: datetime, role: str | None = None, active: bool | None = None
) -> tuple[UserRecord, int]:
    """Changes a role or deactivates; either ends the user's sessions at once, and deactivating also revokes the
    API keys the user made. Returns the user and the epoch."""
    async with db.sessions.begin() as session:
        row = await session.scalar(
            select(User).where(User.account_id == account_id, User.id == user_id).with_for_update()
        )
        if row is None:
            raise NotFound("User", user_id)
        if role is not None:
            row.role = role
        if active is not None:
            row.active = active
        row.session_epoch += 1
        await _revoke_refresh(session, account_id=account_id, user_id=user_id, at=at)
        if active is False:
            # a departing user's integrations must not outlive them: an admin makes new keys if they are needed
            await session.execute(
                update(ApiKey).where(ApiKey.account_id == account_id, ApiKey.created_by == user_id,
                                     ApiKey.revoked_at.is_(None)).values(revoked_at=at)
            )
        await session.flush()
        return user_record(row), row.session_epoch


@round_trip("postgresql")
async def create_user(
    db: Database, *, account_id: int, email: str, full_name: str, role: str, password_hash: str | None,
    at: datetime | None = None,
) -> UserRecord:
    try:
        async with db.sessions.begin() as session:
            row = User(account_id=account_id, email=email.strip(), full_name=full_name, role=role,
                       password_hash=password_hash, password_changed_at=at)
            session.add(row)
            await session.flush()
            await session.refresh(row)
    except IntegrityError:
        raise Conflict("email", f"a user with email {email!r} already exists") from None
    return user_record(row)


@round_trip("postgresql")
async def email_taken(db: Database, *, email: str) -> bool:
    async with db.sessions() as session:
        return bool(await session.scalar(
            select(func.count()).select_from(User).where(func.lower(User.email) == email.strip().lower())
        ))


@round_trip("postgresql")
async def create_invite(
    db: Database, *, account_id: int, email: str, role: str, token_hash: str, invited_by: int | None,
    expires_at: datetime,
) -> InviteRecord:
    async with db.sessions.begin() as session:
        row = Invite(account_id=account_id, email=email.strip(), role=role, token_hash=token_hash,
                     invited_by=invited_by, expires_at=expires_at)
        session.add(row)
        await session.flush()
        await session.refresh(row)
    return invite_record(row)


@round_trip("postgresql")
async def accept_invite(
    db: Database, *, token_hash: str, full_name: str, password_hash: str, at: datetime
) -> UserRecord | None:
    """Creates the invited user and spends the invitation in one transaction; None for an unknown, spent or
    expired token. Raises Conflict when the email was taken meanwhile."""
    try:
        async with db.sessions.begin() as session:
            invite = await session.scalar(select(Invite).where(Invite.token_hash == token_hash).with_for_update())
            if invite is None or invite.accepted_at is not None or invite.expires_at <= at:
                return None
            invite.accepted_at = at
            row = User(account_id=invite.account_id, email=invite.email, full_name=full_name, role=invite.role,
                       password_hash=password_hash, password_changed_at=at)
            session.add(row)
            await session.flush()
            await session.refresh(row)
            return user_record(row)
    except IntegrityError:
        raise Conflict("token", "a user with this invitation's email already exists") from None


@round_trip("postgresql")
async def create_api_key(
    db: Database, *, account_id: int, name: str, role: str, prefix: str, key_hash: str, created_by: int | None
) -> ApiKeyRecord:
    async with db.sessions.begin() as session:
        row = ApiKey(account_id=account_id, name=name, role=role, prefix=prefix, key_hash=key_hash,
                     created_by=created_by)
        session.add(row)
        await session.flush()
        await session.refresh(row)
    return api_key_record(row)


@round_trip("postgresql")
async def api_key_by_hash(db: Database, *, key_hash: str) -> ApiKeyRecord | None:
    """A live key by its digest (the tenant comes from the key itself); revoked keys are not found."""
    async with db.sessions() as session:
        row = await session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None)))
    return api_key_record(row) if row else None


@round_trip("postgresql")
async def revoke_api_key(db: Database, *, account_id: int, key_id: int, at: datetime) -> ApiKeyRecord:
    async with db.sessions.begin() as session:
        row = await session.scalar(select(ApiKey).where(ApiKey.account_id == account_id, ApiKey.id == key_id))
        if row is None:
            raise NotFound("ApiKey", key_id)
        if row.revoked_at is None:
            row.revoked_at = at
        await session.flush()
        return api_key_record(row)


@round_trip("postgresql")
async def api_key_live(db: Database, *, account_id: int, key_id: int) -> bool:
    """Whether the account's key is still unrevoked (a live principal's periodic re-check)."""
    async with db.read() as conn:
        found = await conn.scalar(select(ApiKey.id).where(
            ApiKey.account_id == account_id, ApiKey.id == key_id, ApiKey.revoked_at.is_(None)
        ))
    return found is not None


@round_trip("postgresql")
async def api_keys(db: Database, *, account_id: int) -> list[ApiKeyRecord]:
    async with db.sessions() as session:
        rows = await session.scalars(select(ApiKey).where(ApiKey.account_id == account_id).order_by(ApiKey.id))
        return [api_key_record(r) for r in rows]

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select

from datasources.instrument import round_trip
from datasources.postgres.batch import rows_by_ids
from datasources.postgres.engine import Database
from datasources.postgres.models import Account, User
from datasources.postgres.records import AccountRecord, UserRecord


def account_record(row: Account) -> AccountRecord:
    return AccountRecord(row.id, row.name, row.slug, row.timezone, row.created_at)


def user_record(row: User) -> UserRecord:
    return UserRecord(
        row.id, row.account_id, row.email, row.full_name, row.role, row.phone, row.active, row.created_at,
        row.on_duty,
    )


@round_trip("postgresql")
async def account(db: Database, *, account_id: int) -> AccountRecord | None:
    async with db.sessions() as session:
        row = await session.get(Account, account_id)
    return account_record(row) if row else None


@round_trip("postgresql")
async def create_account(db: Database, *, name: str, slug: str, timezone: str = "UTC") -> AccountRecord:
    async with db.sessions.begin() as session:
        row = Account(name=name, slug=slug, timezone=timezone)
        session.add(row)
        await session.flush()
        await session.refresh(row)
    return account_record(row)


@round_trip("postgresql")
async def first_account(db: Database) -> AccountRecord | None:
    async with db.sessions() as session:
        row = (await session.execute(select(Account).order_by(Account.id).limit(1))).scalar_one_or_none()
    return account_record(row) if row else None


@round_trip("postgresql")
async def users_by_ids(db: Database, *, account_id: int, ids: Sequence[int]) -> list[UserRecord | None]:
    return await rows_by_ids(db, User, account_id=account_id, ids=ids, record=user_record)


@round_trip("postgresql")
async def list_users(db: Database, *, account_id: int, role: str | None = None) -> list[UserRecord]:
    query = select(User).where(User.account_id == account_id).order_by(User.id)
    if role is not None:
        query = query.where(User.role == role)
    async with db.sessions() as session:
        return [user_record(row) for row in await session.scalars(query)]


@round_trip("postgresql")
async def list_accounts(db: Database, *, slug: str | None = None) -> list[AccountRecord]:
    """Every tenant (or the one with `slug`), oldest first: for operators' tools, never for a request."""
    query = select(Account).order_by(Account.id)
    if slug is not None:
        query = query.where(Account.slug == slug)
    async with db.sessions() as session:
        return [account_record(row) for row in await session.scalars(query)]


@round_trip("postgresql")
async def account_by_slug(db: Database, *, slug: str) -> AccountRecord | None:
    async with db.sessions() as session:
        row = (await session.execute(select(Account).where(Account.slug == slug))).scalar_one_or_none()
    return account_record(row) if row else None


@round_trip("postgresql")
async def delete_account(db: Database, *, account_id: int) -> None:
    """Removes the tenant and, by cascade, its users, vehicles, routes and stops."""
    async with db.sessions.begin() as session:
        await session.execute(delete(Account).where(Account.id == account_id))

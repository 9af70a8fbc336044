from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

from sqlalchemy import Row, Table, bindparam, delete, select

from datasources.instrument import round_trip
from datasources.postgres.batch import rows_by_ids
from datasources.postgres.engine import Database, DriverStatement
from datasources.postgres.models import Account, User
from datasources.postgres.records import AccountRecord, UserRecord

ACCOUNTS: Table = Account.__table__  # type: ignore[assignment]
USERS: Table = User.__table__  # type: ignore[assignment]
_ACCOUNT = DriverStatement.of(
    select(*[ACCOUNTS.c[f.name] for f in fields(AccountRecord)]).where(ACCOUNTS.c.id == bindparam("id"))
)


def account_record(row: Account | Row[Any]) -> AccountRecord:
    """From an ORM instance (writes) or a Core row (reads): both name the columns."""
    return AccountRecord(row.id, row.name, row.slug, row.timezone, row.created_at)


def user_record(row: User | Row[Any]) -> UserRecord:
    return UserRecord(
        row.id, row.account_id, row.email, row.full_name, row.role, row.phone, row.active, row.created_at,
        row.on_duty,
    )


@round_trip("postgresql")
async def account(db: Database, *, account_id: int) -> AccountRecord | None:
    rows = await db.fetch(_ACCOUNT, id=account_id)
    return AccountRecord(*rows[0]) if rows else None


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
    async with db.read() as conn:
        row = (await conn.execute(select(ACCOUNTS).order_by(ACCOUNTS.c.id).limit(1))).first()
    return account_record(row) if row else None


@round_trip("postgresql")
async def users_by_ids(db: Database, *, account_id: int, ids: Sequence[int]) -> list[UserRecord | None]:
    return await rows_by_ids(db, User, account_id=account_id, ids=ids, record=UserRecord)


@round_trip("postgresql")
async def list_users(db: Database, *, account_id: int, role: str | None = None) -> list[UserRecord]:
    t = USERS
    query = select(t).where(t.c.account_id == account_id).order_by(t.c.id)
    if role is not None:
        query = query.where(t.c.role == role)
    async with db.read() as conn:
        return [user_record(row) for row in await conn.execute(query)]


@round_trip("postgresql")
async def list_accounts(db: Database, *, slug: str | None = None) -> list[AccountRecord]:
    """Every tenant (or the one with `slug`), oldest first: for operators' tools, never for a request."""
    query = select(ACCOUNTS).order_by(ACCOUNTS.c.id)
    if slug is not None:
        query = query.where(ACCOUNTS.c.slug == slug)
    async with db.read() as conn:
        return [account_record(row) for row in await conn.execute(query)]


@round_trip("postgresql")
async def account_by_slug(db: Database, *, slug: str) -> AccountRecord | None:
    async with db.read() as conn:
        row = (await conn.execute(select(ACCOUNTS).where(ACCOUNTS.c.slug == slug))).first()
    return account_record(row) if row else None


@round_trip("postgresql")
async def delete_account(db: Database, *, account_id: int) -> None:
    """Removes the tenant and, by cascade, its users, vehicles, routes and stops."""
    async with db.sessions.begin() as session:
        await session.execute(delete(Account).where(Account.id == account_id))

"""What the voice agent keeps in PostgreSQL: each account's call script, and which users are closers on duty."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from datasources.instrument import round_trip
from datasources.postgres.engine import Database
from datasources.postgres.models import CallScriptRow, User


@dataclass(frozen=True, slots=True)
class StoredScript:
    account_id: int
    script: dict[str, Any]
    updated_at: datetime | None  # None: the default script, never saved
    updated_by: int | None


@dataclass(frozen=True, slots=True)
class OnDuty:
    user_id: int
    full_name: str
    phone: str


@round_trip("postgresql")
async def call_script(db: Database, *, account_id: int) -> StoredScript | None:
    async with db.sessions() as session:
        row = await session.get(CallScriptRow, account_id)
    return StoredScript(row.account_id, dict(row.script), row.updated_at, row.updated_by) if row else None


@round_trip("postgresql")
async def save_call_script(
    db: Database, *, account_id: int, script: dict[str, Any], updated_by: int | None, at: datetime
) -> StoredScript:
    values = {"account_id": account_id, "script": script, "updated_at": at, "updated_by": updated_by}
    statement = insert(CallScriptRow).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[CallScriptRow.account_id],
        set_={"script": statement.excluded.script, "updated_at": at, "updated_by": updated_by},
    )
    async with db.sessions.begin() as session:
        await session.execute(statement)
    return StoredScript(account_id, script, at, updated_by)


@round_trip("postgresql")
async def closers_on_duty(db: Database, *, account_id: int) -> list[OnDuty]:
    """Active users of the account on duty with a phone, by id."""
    query = (
        select(User.id, User.full_name, User.phone)
        .where(User.account_id == account_id, User.on_duty, User.active, User.phone.is_not(None), User.phone != "")
        .order_by(User.id)
    )
    async with db.sessions() as session:
        rows = (await session.execute(query)).all()
    return [OnDuty(user_id, name, phone or "") for user_id, name, phone in rows]


@round_trip("postgresql")
async def set_on_duty(
    db: Database, *, account_id: int, user_id: int, on_duty: bool, phone: str | None
) -> OnDuty | None:
    """Marks the user on or off duty (and sets their phone when given); None when no such user in the account."""
    changes: dict[str, Any] = {"on_duty": on_duty}
    if phone is not None:
        changes["phone"] = phone
    statement = (
        update(User)
        .where(User.account_id == account_id, User.id == user_id)
        .values(**changes)
        .returning(User.id, User.full_name, User.phone)
    )
    async with db.sessions.begin() as session:
        row = (await session.execute(statement)).first()
    return OnDuty(row[0], row[1], row[2] or "") if row else None


@round_trip("postgresql")
async def on_duty_flags(db: Database, *, account_id: int, ids: Sequence[int]) -> dict[int, bool]:
    if not ids:
        return {}
    query = select(User.id, User.on_duty).where(User.account_id == account_id, User.id.in_(list(ids)))
    async with db.sessions() as session:
        return {user_id: bool(flag) for user_id, flag in (await session.execute(query)).all()}

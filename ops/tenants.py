"""Tenants from the command line: `switchboard create-account` and `create-user`. Each prints a secret once."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from datasources.postgres import accounts, identity
from datasources.postgres.engine import Database, open_database
from datasources.postgres.errors import Conflict
from ops import migrate
from resolvers.identity.passwords import hash_password
from resolvers.identity.tokens import digest, new_secret
from resolvers.leads import validate
from resolvers.principal import Role


@dataclass(frozen=True)
class Created:
    account_slug: str
    email: str
    role: str
    password: str | None = None
    invite_token: str | None = None


def slug_of(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:80] or "account"


async def _open(url: str) -> Database:
    db = open_database(url)
    await migrate.upgrade(db.engine)
    return db


async def create_account(url: str, *, name: str, owner_email: str, owner_name: str, slug: str | None) -> Created:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("NAME must be 1 to 200 characters")
    email = validate.email(owner_email)
    db = await _open(url)
    try:
        slug = slug or slug_of(name)
        if await accounts.account_by_slug(db, slug=slug) is not None:
            raise ValueError(f"an account with slug {slug!r} already exists (give --slug)")
        if await identity.email_taken(db, email=email):
            raise ValueError(f"a user with email {email!r} already exists")
        account = await accounts.create_account(db, name=name, slug=slug)
        password = secrets.token_urlsafe(15)
        await identity.create_user(db, account_id=account.id, email=email, full_name=owner_name or email,
                                   role=Role.owner.value, password_hash=await hash_password(password),
                                   at=datetime.now(UTC))
        return Created(slug, email, Role.owner.value, password=password)
    finally:
        await db.close()


async def create_user(
    url: str, *, account_slug: str, email: str, role: Role, full_name: str, invite: bool, invite_days: float
) -> Created:
    email = validate.email(email)
    db = await _open(url)
    try:
        account = await accounts.account_by_slug(db, slug=account_slug)
        if account is None:
            raise ValueError(f"no account with slug {account_slug!r}")
        if await identity.email_taken(db, email=email):
            raise ValueError(f"a user with email {email!r} already exists")
        now = datetime.now(UTC)
        if invite:
            from datetime import timedelta

            token = new_secret()
            await identity.create_invite(db, account_id=account.id, email=email, role=role.value,
                                         token_hash=digest(token), invited_by=None,
                                         expires_at=now + timedelta(days=invite_days))
            return Created(account_slug, email, role.value, invite_token=token)
        password = secrets.token_urlsafe(15)
        try:
            await identity.create_user(db, account_id=account.id, email=email, full_name=full_name or email,
                                       role=role.value, password_hash=await hash_password(password), at=now)
        except Conflict as exc:
            raise ValueError(str(exc)) from None
        return Created(account_slug, email, role.value, password=password)
    finally:
        await db.close()

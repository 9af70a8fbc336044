"""Until authentication lands, every request acts as the owner of the first account (the demo's Acme)."""

from __future__ import annotations

from datasources.postgres import accounts
from datasources.postgres.engine import Database
from resolvers.principal import Principal, Role


async def development_principal(db: Database) -> Principal:
    account = await accounts.first_account(db)
    if account is None:
        account = await accounts.create_account(db, name="Development", slug="development")
    owners = await accounts.list_users(db, account_id=account.id, role="owner")
    owner = owners[0] if owners else await accounts.create_user(
        db, account_id=account.id, email="owner@development.example", full_name="Development Owner", role="owner"
    )
    return Principal(user_id=owner.id, account_id=account.id, role=Role.owner, email=owner.email)

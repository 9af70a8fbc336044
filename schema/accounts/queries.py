from __future__ import annotations

import strawberry

from datasources.postgres import accounts
from resolvers.identity.api_keys import api_keys
from resolvers.permissions import Action, Unauthenticated
from resolvers.results import Failure
from schema.accounts.types import Account, Role, User
from schema.context import Info
from schema.identity.types import ApiKey, Me
from schema.permissions import can


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The caller: the signed-in user (null for an API key), their account and role.")
    async def me(self, info: Info) -> Me:
        caller = info.context.caller
        user = await info.context.loaders.user.load(caller.user_id) if caller.user_id is not None else None
        account = await info.context.loaders.account.load(caller.account_id)
        if account is None:
            raise Unauthenticated("the account no longer exists")
        return Me(user=User.from_record(user) if user else None, account=Account.from_record(account),
                  role=Role(caller.role.value))

    @strawberry.field(description="The caller's account.", extensions=can(Action.read_users))
    async def account(self, info: Info) -> Account | None:
        found = await info.context.loaders.account.load(info.context.account_id)
        return Account.from_record(found) if found else None

    @strawberry.field(description="The users of the caller's account.", extensions=can(Action.read_users))
    async def users(self, info: Info) -> list[User] | None:
        ctx = info.context
        return [User.from_record(u) for u in await accounts.list_users(ctx.stores.db, account_id=ctx.account_id)]

    @strawberry.field(description="The account's API keys (never the keys themselves).",
                      extensions=can(Action.manage_api_keys))
    async def api_keys(self, info: Info) -> list[ApiKey] | None:
        found = await api_keys(info.context)
        return [] if isinstance(found, Failure) else [ApiKey.from_record(k) for k in found]

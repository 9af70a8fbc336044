from __future__ import annotations

import strawberry

from schema.accounts.types import Account, User
from schema.context import Info


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The signed-in user.")
    async def me(self, info: Info) -> User | None:
        p = info.context.principal
        found = await info.context.loaders.user.load((p.account_id, p.user_id))
        return User.from_record(found) if found else None

    @strawberry.field(description="The caller's account.")
    async def account(self, info: Info) -> Account | None:
        p = info.context.principal
        found = await info.context.loaders.account.load((p.account_id, p.account_id))
        return Account.from_record(found) if found else None

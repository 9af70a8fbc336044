"""createApiKey (the key is shown once and stored as its digest) and revokeApiKey."""

from __future__ import annotations

from dataclasses import dataclass

from datasources.postgres import identity
from datasources.postgres.errors import NotFound
from datasources.postgres.records import ApiKeyRecord
from resolvers.context import RequestContext
from resolvers.identity.sessions import now
from resolvers.identity.tokens import digest, new_api_key
from resolvers.ids import decode_int
from resolvers.permissions import Action, can_grant, requires
from resolvers.principal import Role
from resolvers.results import Failure


@dataclass(frozen=True)
class NewApiKey:
    record: ApiKeyRecord
    key: str


@requires(Action.manage_api_keys)
async def create_api_key(ctx: RequestContext, name: str, role: Role) -> NewApiKey | Failure:
    caller = ctx.caller
    if caller.user_id is None:
        return Failure.forbidden("API keys may not create API keys")
    name = name.strip()
    if not name or len(name) > 100:
        return Failure.invalid("name", "must be 1 to 100 characters")
    if not can_grant(caller, role):
        return Failure.forbidden(f"the {caller.role.value} role may not create a key with the {role.value} role")
    key, prefix = new_api_key()
    record = await identity.create_api_key(
        ctx.stores.db, account_id=caller.account_id, name=name, role=role.value, prefix=prefix,
        key_hash=digest(key), created_by=caller.user_id,
    )
    return NewApiKey(record, key)


@requires(Action.manage_api_keys)
async def revoke_api_key(ctx: RequestContext, id: str) -> ApiKeyRecord | Failure:
    if ctx.caller.user_id is None:
        return Failure.forbidden("API keys may not revoke API keys")
    key = decode_int(id, "ApiKey")
    try:
        return await identity.revoke_api_key(ctx.stores.db, account_id=ctx.account_id, key_id=key, at=now())
    except NotFound:
        return Failure.not_found("id", "API key")


@requires(Action.manage_api_keys)
async def api_keys(ctx: RequestContext) -> list[ApiKeyRecord] | Failure:
    return await identity.api_keys(ctx.stores.db, account_id=ctx.account_id)

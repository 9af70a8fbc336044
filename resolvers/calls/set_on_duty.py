"""setOnDuty: a closer goes on or off duty (with the phone the agent transfers to); managers for anyone."""

from __future__ import annotations

from datasources.postgres import accounts, call_agent
from datasources.postgres.records import UserRecord
from resolvers.context import RequestContext
from resolvers.ids import decode_as
from resolvers.leads import validate
from resolvers.permissions import Action, allowed, denied
from resolvers.results import Failure


async def set_on_duty(ctx: RequestContext, user_id: str, on_duty: bool, phone: str | None) -> UserRecord | Failure:
    raw = decode_as(user_id, "User", field="userId")
    if not raw.isdigit():
        return Failure.not_found("userId", "user")
    key, caller = int(raw), ctx.caller
    if key != caller.user_id and not allowed(caller, Action.manage_duty):
        return Failure.forbidden(denied(Action.manage_duty, caller))
    number = None
    if phone is not None:
        try:
            number = validate.phone(phone)
        except ValueError as exc:
            return Failure.invalid("phone", str(exc))
    [current] = await accounts.users_by_ids(ctx.stores.db, account_id=ctx.account_id, ids=[key])
    if current is None:
        return Failure.not_found("userId", "user")
    if on_duty and not (number or current.phone):
        return Failure.invalid("phone", "a closer on duty needs a phone number for the transfer")
    changed = await call_agent.set_on_duty(ctx.stores.db, account_id=ctx.account_id, user_id=key, on_duty=on_duty,
                                           phone=number)
    if changed is None:
        return Failure.not_found("userId", "user")
    [after] = await accounts.users_by_ids(ctx.stores.db, account_id=ctx.account_id, ids=[key])
    return after if after is not None else Failure.not_found("userId", "user")

"""callScript and updateCallScript: the account's script for the voice agent (voice/script.py)."""

from __future__ import annotations

from typing import Any

from datasources.postgres.call_agent import StoredScript
from resolvers.context import RequestContext
from resolvers.permissions import Action, requires
from resolvers.results import Failure


def _unconfigured() -> Failure:
    return Failure.unavailable("carrier", RuntimeError("calls are not configured on this server"))


async def call_script(ctx: RequestContext) -> StoredScript | None:
    if ctx.calls is None:
        return None
    return await ctx.calls.call_script(account_id=ctx.account_id)


@requires(Action.edit_call_script)
async def update_call_script(ctx: RequestContext, changes: Any) -> StoredScript | Failure:
    if not isinstance(changes, dict) or not changes:
        return Failure.invalid("input.script", "must be an object of the script's fields to change")
    if ctx.calls is None:
        return _unconfigured()
    saved = await ctx.calls.update_call_script(account_id=ctx.account_id, changes=changes,
                                               user_id=ctx.caller.user_id)
    if isinstance(saved, list):
        # the first field, and every problem in the message, so one round trip shows them all
        message = "; ".join(f"{name}: {why}" for name, why in saved)
        return Failure.invalid(f"input.script.{saved[0][0]}", message)
    return saved

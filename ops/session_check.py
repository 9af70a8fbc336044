"""An HTTP operation's session, checked once: CostLimits checks an access token's session marks in the round trip
that takes its budget (ops/limits.py); whatever must know sooner, or when that round trip cannot tell, settles
it here on its own. And the one way an operation is answered UNAUTHENTICATED."""

from __future__ import annotations

import logging
from typing import Any

from graphql import ExecutionResult, FieldNode, OperationType, get_operation_ast

from datasources.instrument import StoreStats, collecting
from resolvers.context import RequestContext
from resolvers.identity.sessions import session_ended
from resolvers.permissions import Unauthenticated

log = logging.getLogger(__name__)

UNAVAILABLE = "the credentials could not be checked: a store is unavailable, try again"


async def settle_session(ctx: RequestContext) -> str | None:
    """Checks a pending session on its own (Redis' marks, PostgreSQL when Redis has no copy or is down): the
    reason it ended, which also drops the principal, or None."""
    if not ctx.session_pending or ctx.principal is None:
        return None
    ctx.session_pending = False
    try:
        with collecting(StoreStats()):  # the credentials' round trips are ours, not the operation's
            reason = await session_ended(ctx.stores, ctx.auth, ctx.principal)
    except Exception:
        log.exception("the session could not be checked on a store error")
        reason = UNAVAILABLE
    if reason is not None:
        ctx.principal, ctx.auth_error = None, reason
    return reason


def refuse(execution_context: Any, reason: str) -> None:
    """Answers the operation UNAUTHENTICATED (HTTP 401, or 503 when a store could not check the credentials);
    a subscription's refusal is raised."""
    ctx: RequestContext = execution_context.context
    error = Unauthenticated(reason)
    if ctx.response is not None:
        ctx.response.status_code = 503 if reason == UNAVAILABLE else 401
    if root_fields(execution_context)[0] is OperationType.SUBSCRIPTION:
        raise error
    execution_context.result = ExecutionResult(data=None, errors=[error])


def root_fields(execution_context: Any) -> tuple[OperationType | None, set[str] | None]:
    document = execution_context.graphql_document
    operation = get_operation_ast(document, execution_context.operation_name) if document else None
    if operation is None:
        return None, None
    names = set()
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode):
            return operation.operation, None  # fragments at the root: not provably public
        names.add(selection.name.value)
    return operation.operation, names

"""Answering a compiled fleet query: the caller's permission and row scope, one round trip, the data shaped.

Only callers allowed every field compiled (`read_fleet`) are answered here; the others go the interpreted way,
which reports FORBIDDEN or UNAUTHENTICATED on the fields as it always has. A driver's reads are limited to the
driver's routes and their stops, as the loaders limit them (resolvers/loaders.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLSchema

from datasources.postgres import compiled as store
from resolvers.compiled import shape as S
from resolvers.compiled.plan import Plan, plan
from resolvers.context import RequestContext
from resolvers.operation_cache import OperationCache
from resolvers.permissions import Action, allowed
from resolvers.principal import Role


class PlanCache:
    """Plans of recent (document text, operation, variables, page size): a plan is wholly determined by them, and
    planning costs more than the statement's round trip."""

    def __init__(self, size: int = 1024) -> None:
        self.plans = OperationCache[Plan | None](size)

    def plan(self, schema: GraphQLSchema, document: DocumentNode, *, query: str | None, operation_name: str | None,
             variables: Mapping[str, Any] | None, max_page_size: int) -> Plan | None:
        return self.plans.get(
            lambda: plan(schema, document, operation_name=operation_name, variables=variables,
                         max_page_size=max_page_size),
            query, operation_name, variables, id(schema), max_page_size,
        )


async def answer(
    ctx: RequestContext, schema: GraphQLSchema, document: DocumentNode, *, query: str | None,
    operation_name: str | None, variables: Mapping[str, Any] | None, plans: PlanCache,
) -> dict[str, Any] | None:
    """The operation's data, or None when it is not compiled (the interpreted path then answers). `query` is the
    document's text, the key of its plan in `plans` with the rest."""
    principal = ctx.principal
    if principal is None or not allowed(principal, Action.read_fleet):
        return None
    if principal.role is Role.driver and principal.user_id is None:
        return None
    if ctx.session_pending:  # not settled by CostLimits: the interpreted path answers as it would
        return None
    found = plans.plan(schema, document, query=query, operation_name=operation_name, variables=variables,
                       max_page_size=ctx.max_page_size)
    if found is None:
        return None
    driver = principal.user_id if principal.role is Role.driver else None
    text = await store.read(ctx.stores.db, account_id=principal.account_id, driver_id=driver, roots=found.roots,
                            params=found.params)
    rows = orjson.loads(text)
    if found.lead_fields is None:
        return found.shape(rows)
    # Stop.lead: one walk finds the stops' leads, one MongoDB read (the loader's, with the caller's row scope)
    # reads what the operation selects of them, a second walk answers
    ids: list[str] = []
    with S.leads(ids):
        found.shape(rows)
    unique = list(dict.fromkeys(ids))
    records = await ctx.loaders.lead_view.load_many([(i, found.lead_fields) for i in unique])
    with S.leads(dict(zip(unique, records, strict=True))):
        return found.shape(rows)

"""Answering a compiled fleet query: the caller's permission and row scope, one round trip, the data shaped.

Only callers allowed what every root field compiled needs (`Plan.actions`) are answered here; the others go the
interpreted way, which reports FORBIDDEN or UNAUTHENTICATED on the fields as it always has. A driver's reads are
limited to the driver's routes and their stops, as the loaders limit them (resolvers/loaders.py).

An operation answered here once is `Prepared`: it passed parsing, validation and every limit that depends only
on its text and variables, so the prepared lane (ops/prepared.py) may answer it again after the checks that
depend on the caller alone (`may_answer`, the budget).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLSchema

from datasources.postgres import compiled as store
from resolvers.compiled import shape as S
from resolvers.compiled.plan import Plan, plan
from resolvers.context import RequestContext
from resolvers.cost import operation_cost
from resolvers.operation_cache import OperationCache
from resolvers.permissions import allowed
from resolvers.principal import Role


@dataclass(frozen=True)
class Prepared:
    """An operation answered from its plan once; `requested` is its static cost (resolvers/cost.py)."""

    plan: Plan
    requested: int


class PlanCache:
    """Plans of recent (document text, operation, variables, page size): a plan is wholly determined by them, and
    planning costs more than the statement's round trip. And the operations answered from them (`prepared`)."""

    def __init__(self, size: int = 1024) -> None:
        self.plans = OperationCache[Plan | None](size)
        self.answered = OperationCache[Prepared](size)

    def plan(self, schema: GraphQLSchema, document: DocumentNode, *, query: str | None, operation_name: str | None,
             variables: Mapping[str, Any] | None, max_page_size: int) -> Plan | None:
        return self.plans.get(
            lambda: plan(schema, document, operation_name=operation_name, variables=variables,
                         max_page_size=max_page_size),
            query, operation_name, variables, id(schema), max_page_size,
        )

    def prepared(self, schema: GraphQLSchema, *, query: str, operation_name: str | None,
                 variables: Mapping[str, Any] | None, max_page_size: int) -> Prepared | None:
        """The operation, when it has been answered from its plan before (and is still kept)."""
        return self.answered.find(self.answered.key(query, operation_name, variables, id(schema), max_page_size))

    def learn(self, schema: GraphQLSchema, document: DocumentNode, found: Plan, *, query: str | None,
              operation_name: str | None, variables: Mapping[str, Any] | None, max_page_size: int) -> None:
        """Keeps the operation as `Prepared`: call it only once the operation was answered from `found`."""
        key = self.answered.key(query, operation_name, variables, id(schema), max_page_size)
        if key is not None and self.answered.find(key) is None:
            cost = operation_cost(schema, document, variables=variables, operation_name=operation_name,
                                  page_size=max_page_size)
            self.answered.keep(key, Prepared(found, cost))


def may_answer(ctx: RequestContext, found: Plan) -> bool:
    """Whether this caller's reads may be answered from the plan: allowed what its root fields need, and a driver
    known by id (their routes are the scope)."""
    principal = ctx.principal
    if principal is None or not all(allowed(principal, action) for action in found.actions):
        return False
    return not (principal.role is Role.driver and principal.user_id is None)


async def read(ctx: RequestContext, found: Plan) -> dict[str, Any]:
    """The plan's data for the caller (who `may_answer`): one PostgreSQL round trip (none for `__typename` alone),
    and one MongoDB read when it selects the stops' leads."""
    if not found.roots:
        return found.shape([])
    principal = ctx.caller
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


async def answer(
    ctx: RequestContext, schema: GraphQLSchema, document: DocumentNode, *, query: str | None,
    operation_name: str | None, variables: Mapping[str, Any] | None, plans: PlanCache,
) -> dict[str, Any] | None:
    """The operation's data, or None when it is not compiled (the interpreted path then answers). `query` is the
    document's text, the key of its plan in `plans` with the rest. Called at execution: the operation was
    parsed, validated and admitted, so once answered it is kept as `Prepared`."""
    if ctx.principal is None or ctx.session_pending:  # not settled by CostLimits: the interpreted path answers
        return None
    found = plans.plan(schema, document, query=query, operation_name=operation_name, variables=variables,
                       max_page_size=ctx.max_page_size)
    if found is None or not may_answer(ctx, found):
        return None
    data = await read(ctx, found)
    plans.learn(schema, document, found, query=query, operation_name=operation_name, variables=variables,
                max_page_size=ctx.max_page_size)
    return data

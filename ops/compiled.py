"""COMPILED_QUERIES: fleet queries answered by one PostgreSQL statement instead of graphql-core's execution
(resolvers/compiled/). Runs after AuthGate and CostLimits, so a refused operation is never compiled and a compiled
one is charged as any other; its one round trip is counted in `extensions.stores` and `cost.actual`. When
planning or reading fails for any reason, the interpreted path answers, and reports what there is to report."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

from graphql import ExecutionResult
from strawberry.extensions import SchemaExtension

from datasources.outage import down_store
from resolvers.compiled.run import PlanCache, answer
from resolvers.context import RequestContext

log = logging.getLogger(__name__)


class CompiledQueries(SchemaExtension):
    def __init__(self, plans: PlanCache, *, execution_context: Any = None) -> None:
        self.plans = plans

    @classmethod
    def configured(cls, plans: PlanCache) -> Callable[[], CompiledQueries]:
        """One extension per operation, sharing one cache of plans (the prepared lane reads it too)."""
        return partial(cls, plans)

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        context = ec.context
        if ec.result is None and isinstance(context, RequestContext) and ec.graphql_document is not None:
            try:
                data = await answer(context, ec.schema._schema, ec.graphql_document, query=ec.query,
                                    operation_name=ec.operation_name, variables=ec.variables, plans=self.plans)
            except Exception as exc:
                if down_store(exc) is None:  # an outage is the interpreted path's to report (ops/outages.py)
                    log.warning("compiled query failed, answering it the interpreted way", exc_info=True)
                data = None
            if data is not None:
                ec.result = ExecutionResult(data=data)
        yield

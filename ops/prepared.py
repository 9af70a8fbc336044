"""PREPARED_OPERATIONS: an HTTP query the full path has answered from a compiled plan once (`Prepared`,
resolvers/compiled/run.py) is answered again without Strawberry's view, execution and schema extensions.

What depends only on the operation's text and variables was settled when it was first answered: parsing,
validation, introspection, the depth, alias, token and variables limits, trusted documents, the static cost and
the plan. What depends on the caller is checked again here, by the code the full path runs for it: the
credentials (`GraphQLApp.get_context`), the permission (`may_answer`), and the cost against the caller's budget
with the session's marks, in one Redis round trip (`Budgets.admit`). The body and headers are made by the view's
own `process_result` and `create_response`, and the operation is told to the metrics as OperationMetrics tells it.

Anything else goes the full way: another shape of request (GET, a batch, `extensions` such as a persisted query's
hash, a streaming transport), an operation not prepared yet, a caller the plan may not answer. An operation the
lane admitted and then does not answer (a refusal, a failed read) is handed on with its admission
(`RequestContext.admission`): the full path answers it as it would have, and charges it no second time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from graphql import GraphQLSchema
from starlette.requests import Request
from starlette.responses import Response
from strawberry.http.parse_content_type import parse_content_type
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from datasources import signals
from datasources.instrument import StoreStats, collecting
from ops.limits import Admission, Budgets, actual_cost
from ops.operations import bounded_name
from resolvers.compiled.run import PlanCache, may_answer, read
from resolvers.context import RequestContext

FIELDS = frozenset({"query", "operationName", "variables"})
STREAMING = ("multipart/mixed", "text/event-stream")  # Accept values that ask for a streaming transport


class View(Protocol):
    """What the lane uses of the GraphQL view (ops/graphql.py GraphQLApp)."""

    async def get_sub_response(self, request: Request) -> Response: ...
    async def get_context(self, request: Request, response: Response) -> RequestContext: ...
    async def process_result(self, request: Request, result: Any) -> Any: ...
    def create_response(self, response_data: Any, sub_response: Response) -> Response: ...


@dataclass(frozen=True)
class Handoff:
    """The lane built the request's context (and perhaps admitted it) and leaves the answer to the full path."""

    context: RequestContext
    sub_response: Response


@dataclass(frozen=True)
class Operation:
    query: str
    operation_name: str | None
    variables: dict[str, Any] | None


def operation(request: Request, body: bytes) -> Operation | None:
    """The one operation a POST carries, when it is of the shape the lane answers; else None."""
    if request.scope.get("query_string"):
        return None
    headers = request.headers
    content_type = headers.get("content-type", "")
    if content_type != "application/json" and "application/json" not in parse_content_type(content_type)[0]:
        return None  # as Strawberry reads it (its parser, email's, is slow for the common case)
    accept = headers.get("accept", "").lower()
    if any(kind in accept for kind in STREAMING):
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not data.keys() <= FIELDS:
        return None
    query, name, variables = data.get("query"), data.get("operationName"), data.get("variables")
    if not isinstance(query, str) or not isinstance(name, str | None) or not isinstance(variables, dict | None):
        return None
    return Operation(query, name, variables)


class PreparedLane:
    def __init__(self, plans: PlanCache, budgets: Budgets, schema: GraphQLSchema, *, max_page_size: int,
                 debug_stats: bool) -> None:
        self.plans = plans
        self.budgets = budgets
        self.schema = schema
        self.max_page_size = max_page_size
        self.debug_stats = debug_stats

    async def answer(self, view: View, request: Request) -> Response | Handoff | None:
        """The response, or the request handed on (with its context), or None: the full way from the start."""
        if request.method != "POST":
            return None
        found = operation(request, await request.body())
        if found is None:
            return None
        prepared = self.plans.prepared(self.schema, query=found.query, operation_name=found.operation_name,
                                       variables=found.variables, max_page_size=self.max_page_size)
        if prepared is None:
            return None
        started = time.perf_counter()
        sub_response = await view.get_sub_response(request)
        context = await view.get_context(request, sub_response)
        if not may_answer(context, prepared.plan):
            return self._hand_on(context, sub_response)
        admission = await self.budgets.admit(context, prepared.requested, operation_type=OperationType.QUERY,
                                             operation_name=found.operation_name)
        if admission.error is not None or admission.report is None:
            return self._hand_on(context, sub_response, admission)
        stats = StoreStats()
        try:
            with collecting(stats):
                data = await read(context, prepared.plan)
        except Exception:  # the full path reads again, and reports an outage or falls back to the resolvers
            return self._hand_on(context, sub_response, admission)
        report = admission.report
        report["actual"] = actual_cost(stats)
        extensions: dict[str, Any] = {"cost": report}
        if self.debug_stats:
            extensions["stores"] = stats.as_dict()
        body = await view.process_result(request, ExecutionResult(data=data, errors=None, extensions=extensions))
        response = view.create_response(body, sub_response)
        signals.graphql_operation.send(OperationType.QUERY.value, name=bounded_name(found.operation_name),
                                       outcome="ok", seconds=time.perf_counter() - started, error_codes=[])
        signals.prepared_operation.send("answered")
        return response

    @staticmethod
    def _hand_on(context: RequestContext, sub_response: Response, admission: Admission | None = None) -> Handoff:
        context.admission = admission
        signals.prepared_operation.send("handed on")
        return Handoff(context, sub_response)

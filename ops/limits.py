"""Query cost and budgets: the static cost of each operation, refused over MAX_QUERY_COST before any store is
touched, then taken from the caller's leaky bucket in Redis (429 with `Retry-After` when it is empty).
Anonymous mutations (sign-in, refresh, invitations) are counted per client address instead, and webhooks per
sending address (`webhook_throttle`). Each response reports `extensions.cost`: requested, actual (the round
trips the operation made, weighed with the same table) and the bucket's throttle status."""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from graphql import ExecutionResult, GraphQLError
from limits import RateLimitItem, RateLimitItemPerSecond, parse
from redis.exceptions import RedisError
from starlette.requests import Request
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from datasources import signals
from datasources.instrument import StoreStats, collecting
from datasources.redis import budget, keys
from ops.session_check import refuse, settle_session
from ops.settings import Settings
from resolvers.context import RequestContext
from resolvers.cost import WEIGHTS, operation_cost
from resolvers.identity.sessions import marks_verdict
from resolvers.operation_cache import OperationCache
from resolvers.permissions import Unauthenticated
from resolvers.principal import Principal

log = logging.getLogger(__name__)

MIN_COST = 1  # every operation takes at least a point, so a flood of free ones is still a flood
COSTLY = "QUERY_TOO_COSTLY"
RATE_LIMITED = "RATE_LIMITED"


def refused(reason: str) -> None:
    """Counts a refusal: `cost`, `rate_limited`, `sign_in`, `webhook`, and the others' (documents, caps)."""
    signals.operation_refused.send(reason)


def retry_seconds(seconds: float) -> int:
    """What `Retry-After` carries: whole seconds, at least 1, never early."""
    return max(1, math.ceil(seconds))


def budget_of(settings: Settings, principal: Principal) -> int:
    """Points in the principal's bucket: by its API key's prefix, else by its role, else COST_BUDGET."""
    by_key = settings.cost_budget_by_api_key
    if principal.api_key_prefix is not None and principal.api_key_prefix in by_key:
        return by_key[principal.api_key_prefix]
    return settings.cost_budget_by_role.get(principal.role.value, settings.cost_budget)


def sign_in_limit(settings: Settings) -> RateLimitItem:
    return RateLimitItemPerSecond(settings.rate_limit_max_requests, math.ceil(settings.rate_limit_window_ms / 1000))


def webhook_limit(settings: Settings) -> RateLimitItem:
    try:
        return _parsed(settings.webhook_rate_limit)
    except ValueError as exc:
        raise ValueError(f"WEBHOOK_RATE_LIMIT: {settings.webhook_rate_limit!r} is not a rate such as "
                         "'6000/minute'") from exc


@lru_cache(maxsize=16)
def _parsed(rate: str) -> RateLimitItem:
    """The rate's item, parsed once: every webhook asks for it."""
    return parse(rate)


def actual_cost(stats: StoreStats) -> int:
    """The round trips an operation made, weighed per store as the static cost weighs fields."""
    return sum(WEIGHTS.get(store, 1) * counter.calls for store, counter in stats.stores.items())


class CostCache:
    """Costs of recent (document text, operation, variables), as the document cache keeps parsed documents."""

    def __init__(self, size: int = 1024) -> None:
        self.costs = OperationCache[int](size)

    def cost(self, ec: ExecutionContext, page_size: int) -> int:
        assert ec.graphql_document is not None
        document = ec.graphql_document
        return self.costs.get(
            lambda: operation_cost(ec.schema._schema, document, variables=ec.variables,
                                   operation_name=ec.operation_name, page_size=page_size),
            ec.query, ec.operation_name, ec.variables, page_size,
        )


@dataclass
class Admission:
    """Whether an operation may run: None, or the error that refuses it (an `Unauthenticated` when the access
    token's session has ended); and the `extensions.cost` report, None when there is none to give."""

    error: GraphQLError | None
    report: dict[str, Any] | None


class Budgets:
    """The deployment's cost policy: an operation's static cost against MAX_QUERY_COST and the caller's budget,
    then taken from the caller's bucket in Redis (with the session's marks, in one round trip); anonymous
    mutations against the sign-in limit. CostLimits asks it for every operation, the prepared lane
    (ops/prepared.py) for the operations it answers."""

    def __init__(self, settings: Settings, sign_in: RateLimitItem) -> None:
        self.settings = settings
        self.sign_in = sign_in

    async def admit(self, context: RequestContext, requested: int, *, operation_type: OperationType,
                    operation_name: str | None) -> Admission:
        requested = max(MIN_COST, requested)
        report: dict[str, Any] = {"requested": requested, "actual": 0, "throttleStatus": None}
        principal = context.principal
        capacity = budget_of(self.settings, principal) if principal is not None else None
        maximum = self.settings.max_query_cost if capacity is None else min(self.settings.max_query_cost, capacity)
        if requested > maximum:
            if (reason := await settle_session(context)) is not None:
                return Admission(Unauthenticated(reason), None)
            refused("cost")
            which = "MAX_QUERY_COST" if maximum == self.settings.max_query_cost else "your cost budget"
            return Admission(GraphQLError(
                f"this query costs {requested} points, over the maximum of {maximum} per operation ({which}): "
                "ask for fewer objects (smaller `first`, fewer nested lists)",
                extensions={"code": COSTLY, "cost": {"requested": requested, "maximum": maximum}},
            ), report)
        if principal is None or capacity is None:
            # anonymous callers reach only sign-in, refresh and invitations (AuthGate): its mutations are attempts
            if operation_type is OperationType.MUTATION:
                return Admission(await self._sign_in_attempt(context), report)
            return Admission(None, report)
        error = await self._take(principal, requested, capacity, context, report, operation_name)
        if isinstance(error, Unauthenticated):
            report = None  # type: ignore[assignment]
        return Admission(error, report)

    async def _take(
        self, principal: Principal, cost: int, capacity: int, context: RequestContext, report: dict[str, Any],
        operation_name: str | None,
    ) -> GraphQLError | None:
        rate = self.settings.cost_restore_rate
        taken = None
        try:
            with collecting(StoreStats()):  # the budget's round trip is ours, not the operation's
                if context.session_pending:  # the session's marks and the budget in one round trip
                    assert principal.user_id is not None
                    found = await budget.take_in_session(
                        context.stores.redis, subject=principal.subject, cost=cost, capacity=capacity, rate=rate,
                        user_id=principal.user_id, family_id=principal.session_id, epoch=principal.epoch)
                    if not found.no_copy:
                        context.session_pending = False
                        reason = marks_verdict(principal, found.epoch or str(principal.epoch), found.revoked)
                        if reason is not None:
                            context.principal, context.auth_error = None, reason
                            return Unauthenticated(reason)
                        taken = found.taken
                if taken is None:
                    if (reason := await settle_session(context)) is not None:  # Redis had no copy of the marks
                        return Unauthenticated(reason)
                    taken = await budget.take(context.stores.redis, subject=principal.subject, cost=cost,
                                              capacity=capacity, rate=rate)
        except RedisError:
            log.warning("cost budget unavailable, letting the operation through", exc_info=True)
            if (reason := await settle_session(context)) is not None:  # checked against PostgreSQL
                return Unauthenticated(reason)
            return None
        signals.budget_level.send(None, available=taken.available, capacity=capacity)
        report["throttleStatus"] = {
            "maximumAvailable": capacity, "currentlyAvailable": math.floor(taken.available), "restoreRate": rate,
        }
        if cost * 2 > capacity:
            log.warning("operation over half its budget", extra={
                "cost": cost, "budget": capacity, "subject": principal.subject, "operation": operation_name,
                "allowed": taken.allowed,
            })
        if taken.allowed:
            return None
        refused("rate_limited")
        retry = retry_seconds(taken.retry_after)
        return GraphQLError(
            f"cost budget exhausted: this operation costs {cost} points and {math.floor(taken.available)} of "
            f"{capacity} are left, restoring {rate:g} a second; retry in {retry} s",
            extensions={"code": RATE_LIMITED, "retryAfterSeconds": retry, "cost": report},
        )

    async def _sign_in_attempt(self, context: RequestContext) -> GraphQLError | None:
        client = getattr(context.response, "client_host", None) or "unknown"
        retry = await _counted(context.stores.redis, self.sign_in, keys.sign_in_attempts(client), reason="sign_in")
        if retry is None:
            return None
        return GraphQLError(
            f"too many sign-in attempts from this address: at most {self.sign_in.amount} in "
            f"{self.sign_in.multiples} s (RATE_LIMIT_MAX_REQUESTS, RATE_LIMIT_WINDOW_MS); retry in {retry} s",
            extensions={"code": RATE_LIMITED, "retryAfterSeconds": retry},
        )


class CostLimits(SchemaExtension):
    """Runs after AuthGate and the pure refusals, before execution: cost, then budget; after it, the report.
    An operation the prepared lane admitted already (`RequestContext.admission`) is not admitted again."""

    def __init__(self, budgets: Budgets, costs: CostCache, *, execution_context: Any = None) -> None:
        self.budgets = budgets
        self.costs = costs
        self.report: dict[str, Any] | None = None

    @classmethod
    def configured(cls, settings: Settings, budgets: Budgets | None = None) -> Callable[[], CostLimits]:
        """One extension per operation over this deployment's settings, which are checked here, at start-up."""
        webhook_limit(settings)
        return partial(cls, budgets or Budgets(settings, sign_in_limit(settings)),
                       CostCache(settings.document_cache_size))

    async def on_execute(self) -> AsyncIterator[None]:
        ec = self.execution_context
        context = ec.context
        if ec.result is not None or not isinstance(context, RequestContext):
            yield  # refused already (AuthGate)
            return
        subscription = ec.operation_type is OperationType.SUBSCRIPTION
        admission, context.admission = context.admission, None
        if admission is None:
            admission = await self.budgets.admit(context, self.costs.cost(ec, context.max_page_size),
                                                 operation_type=ec.operation_type, operation_name=ec.operation_name)
        self.report = admission.report
        error = admission.error
        if isinstance(error, Unauthenticated):  # the access token's session has ended
            refuse(ec, error.message)
            yield
            return
        if error is not None:
            if context.response is not None:
                retry = (error.extensions or {}).get("retryAfterSeconds")
                if retry is not None:
                    context.response.status_code = 429
                    context.response.headers["Retry-After"] = str(retry)
            if subscription:
                raise error
            ec.result = ExecutionResult(data=None, errors=[error])
            yield
            return
        if subscription:
            yield
            return
        stats = context.stats or StoreStats()
        with nullcontext() if context.stats is stats else collecting(stats):
            yield
        if self.report is not None:
            self.report["actual"] = actual_cost(stats)

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.report} if self.report is not None else {}


async def webhook_throttle(request: Request) -> int | None:
    """Seconds the sender must wait when it is past WEBHOOK_RATE_LIMIT, else None (counts this request)."""
    settings: Settings = request.app.state.settings
    client = request.client.host if request.client else "unknown"
    return await _counted(request.state.stores.redis, webhook_limit(settings), keys.webhook_requests(client),
                          reason="webhook")


async def _counted(redis: Any, limit: RateLimitItem, name: str, *, reason: str) -> int | None:
    """Counts one request against a per-address limit: the whole seconds to wait when it is past it (and the
    refusal counted), else None. Redis down lets it through. The count is no round trip of the operation's."""
    try:
        with collecting(StoreStats()):
            wait = await budget.hit(redis, limit=limit, name=name)
    except RedisError:
        log.warning("%s limit unavailable, letting the request through", reason, exc_info=True)
        return None
    if wait is None:
        return None
    refused(reason)
    return retry_seconds(wait)

from __future__ import annotations

from dataclasses import dataclass

from datasources.calls.broker import StreamBroker
from datasources.instrument import StoreStats
from datasources.stores import Stores
from resolvers.calls.port import CallControl
from resolvers.loaders import Loaders
from resolvers.principal import Principal


@dataclass
class RequestContext:
    """What every resolver gets: the caller, the stores, and this request's own loaders."""

    stores: Stores
    principal: Principal
    loaders: Loaders
    max_page_size: int
    calls: CallControl | None = None
    events: StreamBroker | None = None
    stats: StoreStats | None = None

    @property
    def account_id(self) -> int:
        return self.principal.account_id


def build_context(
    stores: Stores,
    principal: Principal,
    *,
    max_page_size: int,
    calls: CallControl | None = None,
    events: StreamBroker | None = None,
) -> RequestContext:
    return RequestContext(stores, principal, Loaders(stores), max_page_size, calls, events)

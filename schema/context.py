from strawberry.types import Info as _Info

from resolvers.context import RequestContext

type Info = _Info[RequestContext, None]

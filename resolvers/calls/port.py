"""What resolvers need from the call service; ops plugs voice's CallService in (resolvers never import voice)."""

from __future__ import annotations

from typing import Any, Protocol

from datasources.calls.model import Call, CarrierFailed, Refused
from datasources.mongo.records import LeadRecord


class CallControl(Protocol):
    async def start_call(
        self, *, account_id: int, lead: LeadRecord, agent_id: int | None
    ) -> Call | Refused | CarrierFailed: ...

    async def command(self, call: Call, action: str, **arguments: Any) -> CarrierFailed | None: ...

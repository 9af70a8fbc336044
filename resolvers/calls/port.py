"""What resolvers need from the call service; ops plugs voice's CallService in (resolvers never import voice)."""

from __future__ import annotations

from typing import Any, Protocol

from datasources.calls.model import Call, CarrierFailed, Refused
from datasources.mongo.records import LeadRecord
from datasources.postgres.call_agent import StoredScript


class CallControl(Protocol):
    async def start_call(
        self, *, account_id: int, lead: LeadRecord, agent_id: int | None
    ) -> Call | Refused | CarrierFailed: ...

    async def command(self, call: Call, action: str, **arguments: Any) -> CarrierFailed | None: ...

    async def call_script(self, *, account_id: int) -> StoredScript: ...

    async def update_call_script(
        self, *, account_id: int, changes: dict[str, Any], user_id: int | None
    ) -> StoredScript | list[tuple[str, str]]: ...

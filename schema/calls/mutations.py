from __future__ import annotations

from typing import Annotated

import strawberry

from datasources.calls.model import Call as CallRecord
from resolvers.calls import command
from resolvers.calls.start_call import start_call
from resolvers.results import Failure, guarded
from schema.calls.types import Call
from schema.context import Info
from schema.errors import CallRefusedError, MutationError, call_error


@strawberry.type
class CallPayload:
    call: Call


CallResult = Annotated[
    CallPayload | CallRefusedError | MutationError,
    strawberry.union("CallResult"),
]


def call_result(outcome: CallRecord | Failure) -> CallResult:
    if isinstance(outcome, Failure):
        return call_error(outcome)
    return CallPayload(call=Call.from_record(outcome))


@strawberry.type
class CallMutations:
    @strawberry.mutation(description="Dials the lead through the carrier; refused without consent, on the "
                                     "do-not-call list, or outside 8:00-21:00 in the lead's time zone.")
    async def start_call(self, info: Info, lead_id: strawberry.ID) -> CallResult:
        return call_result(await guarded(start_call(info.context, lead_id)))

    @strawberry.mutation
    async def hang_up_call(self, info: Info, call_id: strawberry.ID) -> CallResult:
        return call_result(await guarded(command.hang_up(info.context, call_id)))

    @strawberry.mutation(description="Transfers the live call to another number (E.164).")
    async def transfer_call(self, info: Info, call_id: strawberry.ID, to: str) -> CallResult:
        return call_result(await guarded(command.transfer(info.context, call_id, to)))

    @strawberry.mutation(description="Speaks `text` into the live call (text to speech).")
    async def speak(self, info: Info, call_id: strawberry.ID, text: str) -> CallResult:
        return call_result(await guarded(command.speak(info.context, call_id, text)))

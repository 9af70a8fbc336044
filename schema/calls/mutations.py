from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from datasources.calls.model import Call as CallRecord
from datasources.postgres.call_agent import StoredScript
from resolvers.calls import command
from resolvers.calls.call_script import update_call_script
from resolvers.calls.set_on_duty import set_on_duty
from resolvers.calls.start_call import start_call
from resolvers.results import Failure, guarded
from schema.accounts.types import User
from schema.calls.types import Call, CallScript
from schema.context import Info
from schema.errors import CallRefusedError, MutationError, call_error, from_failure
from schema.identity.types import UserPayload


@strawberry.type
class CallPayload:
    call: Call


CallResult = Annotated[
    CallPayload | CallRefusedError | MutationError,
    strawberry.union("CallResult"),
]


@strawberry.type
class CallScriptPayload:
    call_script: CallScript


CallScriptResult = Annotated[CallScriptPayload | MutationError, strawberry.union("CallScriptResult")]
OnDutyResult = Annotated[UserPayload | MutationError, strawberry.union("OnDutyResult")]


@strawberry.input
class UpdateCallScriptInput:
    script: JSON = strawberry.field(description="The fields to change, as in `CallScript.script` (e.g. "
                                                "`{\"greeting\": \"Hi!\", \"weights\": {\"need\": 40, ...}}`); "
                                                "the others keep their value.")


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

    @strawberry.mutation(description="Changes the account's call script (owner, admin, manager); a refused value "
                                     "answers a ValidationError naming its field, e.g. `input.script.weights`.")
    async def update_call_script(self, info: Info, input: UpdateCallScriptInput) -> CallScriptResult:
        outcome: StoredScript | Failure = await guarded(update_call_script(info.context, input.script))
        if isinstance(outcome, Failure):
            return from_failure(outcome)
        return CallScriptPayload(call_script=CallScript.from_record(outcome))

    @strawberry.mutation(description="Puts a user on or off duty as a closer (the voice agent transfers hot leads "
                                     "to them), with the phone to ring; managers and above for anyone, anyone for "
                                     "themselves.")
    async def set_on_duty(
        self, info: Info, user_id: strawberry.ID, on_duty: bool, phone: str | None = None
    ) -> OnDutyResult:
        outcome = await guarded(set_on_duty(info.context, user_id, on_duty, phone))
        if isinstance(outcome, Failure):
            return from_failure(outcome)
        return UserPayload(user=User.from_record(outcome))

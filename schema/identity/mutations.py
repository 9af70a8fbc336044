from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers.identity.accept_invite import accept_invite
from resolvers.identity.api_keys import create_api_key, revoke_api_key
from resolvers.identity.change_password import change_password
from resolvers.identity.change_user import deactivate_user, update_user_role
from resolvers.identity.invite_user import invite_user
from resolvers.identity.refresh_session import refresh_session
from resolvers.identity.sessions import SignedIn
from resolvers.identity.sign_in import sign_in
from resolvers.identity.sign_out import sign_out
from resolvers.principal import Role as RoleValue
from resolvers.results import Failure, guarded
from schema.accounts.types import Role, User
from schema.context import Info
from schema.errors import AuthError, MutationError, auth_error, from_failure
from schema.identity.types import (
    ApiKey,
    ApiKeyCreatedPayload,
    ApiKeyPayload,
    Invite,
    InvitePayload,
    SignInPayload,
    SignOutPayload,
    UserPayload,
)

SignInResult = Annotated[SignInPayload | AuthError, strawberry.union("SignInResult")]
SignOutResult = Annotated[SignOutPayload | MutationError, strawberry.union("SignOutResult")]
InviteResult = Annotated[InvitePayload | MutationError, strawberry.union("InviteResult")]
UserResult = Annotated[UserPayload | MutationError, strawberry.union("UserResult")]
ApiKeyCreatedResult = Annotated[ApiKeyCreatedPayload | MutationError, strawberry.union("ApiKeyCreatedResult")]
ApiKeyResult = Annotated[ApiKeyPayload | MutationError, strawberry.union("ApiKeyResult")]


def session_result(outcome: SignedIn | Failure) -> SignInResult:
    return auth_error(outcome) if isinstance(outcome, Failure) else SignInPayload.from_session(outcome)


@strawberry.type
class IdentityMutations:
    @strawberry.mutation(description="Signs in with an email and password. Five failures in a row lock the email for "
                                     "15 minutes (LOGIN_MAX_ATTEMPTS, LOGIN_LOCKOUT).")
    async def sign_in(self, info: Info, email: str, password: str) -> SignInResult:
        return session_result(await guarded(sign_in(info.context, email, password)))

    @strawberry.mutation(description="Spends a refresh token for a new pair. A token spent twice signs out every "
                                     "session of its sign-in.")
    async def refresh_session(self, info: Info, refresh_token: str) -> SignInResult:
        return session_result(await guarded(refresh_session(info.context, refresh_token)))

    @strawberry.mutation(description="Ends this session, or with `everywhere` every session of the user; their "
                                     "access tokens stop working at once.")
    async def sign_out(self, info: Info, everywhere: bool = False) -> SignOutResult:
        outcome = await guarded(sign_out(info.context, everywhere))
        return from_failure(outcome) if isinstance(outcome, Failure) else SignOutPayload(signed_out=outcome)

    @strawberry.mutation(description="Changes the caller's password, ends every session and starts a new one.")
    async def change_password(self, info: Info, current_password: str, new_password: str) -> SignInResult:
        return session_result(await guarded(change_password(info.context, current_password, new_password)))

    @strawberry.mutation(description="Invites a person into the caller's account; the token is shown only here.")
    async def invite_user(self, info: Info, email: str, role: Role) -> InviteResult:
        outcome = await guarded(invite_user(info.context, email, RoleValue(role.value)))
        if isinstance(outcome, Failure):
            return from_failure(outcome)
        return InvitePayload(invite=Invite.from_record(outcome.invite), token=outcome.token)

    @strawberry.mutation(description="Spends an invitation: sets the new user's name and password and signs in.")
    async def accept_invite(self, info: Info, token: str, full_name: str, password: str) -> SignInResult:
        return session_result(await guarded(accept_invite(info.context, token, full_name, password)))

    @strawberry.mutation(description="Changes a user's role; their sessions end at once (they sign in again).")
    async def update_user_role(self, info: Info, user_id: strawberry.ID, role: Role) -> UserResult:
        outcome = await guarded(update_user_role(info.context, user_id, RoleValue(role.value)))
        return from_failure(outcome) if isinstance(outcome, Failure) else UserPayload(user=User.from_record(outcome))

    @strawberry.mutation(description="Deactivates a user: their sessions and tokens stop at once, and the API keys "
                                     "they made are revoked.")
    async def deactivate_user(self, info: Info, user_id: strawberry.ID) -> UserResult:
        outcome = await guarded(deactivate_user(info.context, user_id))
        return from_failure(outcome) if isinstance(outcome, Failure) else UserPayload(user=User.from_record(outcome))

    @strawberry.mutation(description="A key for an integration, acting with `role` in the caller's account. The key "
                                     "is shown only here.")
    async def create_api_key(self, info: Info, name: str, role: Role) -> ApiKeyCreatedResult:
        outcome = await guarded(create_api_key(info.context, name, RoleValue(role.value)))
        if isinstance(outcome, Failure):
            return from_failure(outcome)
        return ApiKeyCreatedPayload(api_key=ApiKey.from_record(outcome.record), key=outcome.key)

    @strawberry.mutation
    async def revoke_api_key(self, info: Info, id: strawberry.ID) -> ApiKeyResult:
        outcome = await guarded(revoke_api_key(info.context, id))
        if isinstance(outcome, Failure):
            return from_failure(outcome)
        return ApiKeyPayload(api_key=ApiKey.from_record(outcome))

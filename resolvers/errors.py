from __future__ import annotations

from graphql import GraphQLError


class InputError(GraphQLError):
    """Bad input to a query: the message and `extensions.field` name the argument at fault."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", extensions={"code": "BAD_USER_INPUT", "field": field})
        self.field = field
        self.reason = reason

"""GraphQL over real HTTP: gql for the happy path, raw httpx where a test reads status codes and errors.

A client signed in with a token sends it as `Authorization: Bearer ...` on every request.
"""

from __future__ import annotations

from typing import Any

import httpx
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport

SIGN_IN = """mutation($email: String!, $password: String!) {
  signIn(email: $email, password: $password) {
    __typename
    ... on SignInPayload { accessToken refreshToken accessTokenExpiresAt user { id email role } }
    ... on UserError { message }
  }
}"""


def sign_in(url: str, email: str, password: str) -> dict[str, Any]:
    """The signIn payload for these credentials (asserts it succeeded)."""
    response = httpx.post(url, json={"query": SIGN_IN, "variables": {"email": email, "password": password}},
                          timeout=60)
    result = response.json()["data"]["signIn"]
    assert result["__typename"] == "SignInPayload", result
    return result


class GraphQL:
    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        self.token = token
        self.headers = {"authorization": f"Bearer {token}"} if token else {}
        self.client = Client(
            transport=HTTPXAsyncTransport(url=url, timeout=60, headers=self.headers), fetch_schema_from_transport=False
        )

    def as_(self, token: str | None) -> GraphQL:
        return GraphQL(self.url, token)

    async def query(self, document: str, **variables: Any) -> dict[str, Any]:
        """Data of a query that must succeed (gql raises on any GraphQL error)."""
        async with self.client as session:
            return await session.execute(GraphQLRequest(document, variable_values=variables or None))

    async def result(self, document: str, **variables: Any) -> dict[str, Any]:
        """The whole response body (data, errors, extensions); asserts the HTTP status is 200."""
        async with httpx.AsyncClient(timeout=60, headers=self.headers) as http:
            response = await http.post(self.url, json={"query": document, "variables": variables or None})
        assert response.status_code == 200, response.text
        return response.json()

    async def raw(self, body: Any, *, method: str = "POST", **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        async with httpx.AsyncClient(timeout=60, headers=headers) as http:
            if method == "POST":
                return await http.post(self.url, json=body, **kwargs)
            return await http.request(method, self.url, **kwargs)

"""GraphQL over real HTTP: gql for the happy path, raw httpx where a test reads status codes and errors."""

from __future__ import annotations

from typing import Any

import httpx
from gql import Client, GraphQLRequest
from gql.transport.httpx import HTTPXAsyncTransport


class GraphQL:
    def __init__(self, url: str) -> None:
        self.url = url
        self.client = Client(transport=HTTPXAsyncTransport(url=url, timeout=60), fetch_schema_from_transport=False)

    async def query(self, document: str, **variables: Any) -> dict[str, Any]:
        """Data of a query that must succeed (gql raises on any GraphQL error)."""
        async with self.client as session:
            return await session.execute(GraphQLRequest(document, variable_values=variables or None))

    async def result(self, document: str, **variables: Any) -> dict[str, Any]:
        """The whole response body (data, errors, extensions); asserts the HTTP status is 200."""
        async with httpx.AsyncClient(timeout=60) as http:
            response = await http.post(self.url, json={"query": document, "variables": variables or None})
        assert response.status_code == 200, response.text
        return response.json()

    async def raw(self, body: Any, *, method: str = "POST", **kwargs: Any) -> httpx.Response:
        async with httpx.AsyncClient(timeout=60) as http:
            if method == "POST":
                return await http.post(self.url, json=body, **kwargs)
            return await http.request(method, self.url, **kwargs)

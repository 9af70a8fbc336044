"""The floor of a Python web stack: Starlette on uvicorn reading the account row with asyncpg, no GraphQL.

    uvicorn plain:app --app-dir bench/peers   (PEERS_POSTGRES_URL, PEERS_ACCOUNT_ID in the environment)

`POST /account` answers what `{ account { name } }` answers (one row by primary key, from a pool of 10
connections, the size of Switchboard's); `POST /typename` what `{ __typename }` answers. Both read the JSON
body, as a GraphQL server must.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ACCOUNT_ID = int(os.environ.get("PEERS_ACCOUNT_ID", "1"))


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(os.environ["PEERS_POSTGRES_URL"], min_size=10, max_size=10)
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


async def account(request: Request) -> JSONResponse:
    await request.json()
    name = await request.app.state.pool.fetchval("SELECT name FROM accounts WHERE id = $1", ACCOUNT_ID)
    return JSONResponse({"data": {"account": {"name": name}}})


async def typename(request: Request) -> JSONResponse:
    await request.json()
    return JSONResponse({"data": {"__typename": "Query"}})


app = Starlette(routes=[Route("/account", account, methods=["POST"]), Route("/typename", typename, methods=["POST"])],
                lifespan=lifespan)

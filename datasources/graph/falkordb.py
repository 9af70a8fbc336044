"""GraphStore over FalkorDB's own protocol (Redis RESP): the embedded default and FalkorDB servers."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from redis.asyncio import BlockingConnectionPool
from redis.exceptions import ResponseError

from datasources.graph import dialect
from datasources.graph.store import CypherGraph, Row
from datasources.instrument import round_trip

if TYPE_CHECKING:
    from falkordb.asyncio import FalkorDB
    from falkordb.asyncio.graph import AsyncGraph

EMPTY_KEY = "Invalid graph operation on empty key"


def _names(props: Any) -> list[str]:
    """A property list as FalkorDB returns it: a list, or over some paths its text "[a, b]"."""
    if isinstance(props, str):
        return [p for p in props.strip("[]").split(", ") if p]
    return [str(p) for p in props]


class FalkorDBGraph(CypherGraph):
    def __init__(
        self,
        url: str,
        *,
        graph: str,
        username: str | None = None,
        password: str | None = None,
        max_connections: int = 16,
        read_timeout: float = 30.0,
    ) -> None:
        if url.startswith("falkordb://"):
            url = "redis://" + url.removeprefix("falkordb://")
        options: dict[str, Any] = {}
        if username:
            options["username"] = username
        if password:
            options["password"] = password
        # redis-py reads with the connect timeout unless told otherwise; a large read (and parsing it, which
        # that timeout covers) may take longer than an unanswered connect should
        self._pool = BlockingConnectionPool.from_url(
            url, decode_responses=True, max_connections=max_connections, socket_connect_timeout=5,
            socket_timeout=read_timeout, **options
        )
        self._graph_name = graph
        self._client: FalkorDB | None = None
        self._graph: AsyncGraph | None = None
        self._opening = asyncio.Lock()

    def connections_in_use(self) -> int:
        """Connections checked out of the pool now (for the metrics)."""
        return len(getattr(self._pool, "_in_use_connections", ()))

    async def _select(self) -> AsyncGraph:
        # The client's constructor asks the server, synchronously, whether it is a cluster: keep that
        # blocking call off the event loop and out of open_graph(), which does no I/O.
        if self._graph is None:
            async with self._opening:
                if self._graph is None:
                    from falkordb.asyncio import FalkorDB

                    client = await asyncio.to_thread(FalkorDB, connection_pool=self._pool)
                    self._client, self._graph = client, client.select_graph(self._graph_name)
        return self._graph

    async def _dialect(self) -> dialect.Dialect:
        return dialect.FALKORDB

    async def _read(self, query: str, params: Mapping[str, Any]) -> list[Row]:
        graph = await self._select()
        try:
            return (await graph.ro_query(query, dict(params))).result_set
        except ResponseError as exc:
            # A graph is created by its first write; until then a read-only query is refused, not empty.
            if EMPTY_KEY in str(exc):
                return []
            raise

    async def _write(self, query: str, params: Mapping[str, Any]) -> list[Row]:
        graph = await self._select()
        return (await graph.query(query, dict(params))).result_set

    @round_trip("neo4j")
    async def ensure_schema(self) -> None:
        existing = await self._read(dialect.FALKORDB_LIST_INDEXES, {})
        for statement in dialect.falkordb_index_ddl((str(label), props) for label, props in existing):
            try:
                await self._write(statement, {})
            except ResponseError as exc:
                # Another process starting at the same time created it between our list and our create.
                if "already indexed" not in str(exc):
                    raise

    @round_trip("neo4j")
    async def drop_indexes(self) -> None:
        existing = await self._read(dialect.FALKORDB_LIST_INDEXES, {})
        for statement in dialect.falkordb_index_drop_ddl(existing, dialect.INDEXES):
            await self._write(statement, {})

    @round_trip("neo4j")
    async def ensure_keys(self) -> None:
        existing = await self._read(dialect.FALKORDB_LIST_INDEXES, {})
        have = {(str(label), prop) for label, props in existing for prop in props}
        for label, prop in dialect.key_index_pairs():  # a unique constraint needs an index on each property
            if (label, prop) not in have:
                await self._write(f"CREATE INDEX FOR (n:{label}) ON (n.{prop})", {})
        for label, props in dialect.KEYS:
            await self._constraint("CREATE", label, props, tolerate="already exists")

    @round_trip("neo4j")
    async def drop_keys(self) -> None:
        # FalkorDB drops a constraint only when named with its properties in its own (stored) order
        keys = {(label, frozenset(props)) for label, props in dialect.KEYS}
        for kind, label, props, entity in await self._read(dialect.FALKORDB_LIST_CONSTRAINTS, {}):
            listed = tuple(_names(props))
            if kind == "UNIQUE" and entity == "NODE" and (str(label), frozenset(listed)) in keys:
                await self._constraint("DROP", str(label), listed, tolerate="no such constraint")
        existing = await self._read(dialect.FALKORDB_LIST_INDEXES, {})
        for statement in dialect.falkordb_index_drop_ddl(existing, dialect.key_index_pairs()):
            await self._write(statement, {})

    async def _constraint(self, verb: str, label: str, props: tuple[str, ...], *, tolerate: str) -> None:
        """GRAPH.CONSTRAINT: a Redis command of FalkorDB's, not Cypher."""
        from redis.asyncio import Redis

        client = Redis(connection_pool=self._pool)
        try:
            await client.execute_command(
                "GRAPH.CONSTRAINT", verb, self._graph_name, "UNIQUE", "NODE", label, "PROPERTIES", str(len(props)),
                *props,
            )
        except ResponseError as exc:
            if tolerate not in str(exc).lower():
                raise

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
        # The client does not own a pool it was handed.
        await self._pool.aclose()

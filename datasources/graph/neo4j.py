"""GraphStore over Bolt with the official neo4j driver: Neo4j 5, and FalkorDB's experimental Bolt in tests.

FalkorDB answers Bolt as "Neo4j/5.13.0", so the server is told apart by a probe on first use; what differs
(index DDL, the request size FalkorDB's Bolt survives) comes from the dialect the probe picks.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from neo4j import READ_ACCESS, AsyncDriver, AsyncManagedTransaction, RoutingControl
from neo4j.exceptions import Neo4jError

from datasources.graph import cypher, dialect
from datasources.graph.store import CypherGraph, Row
from datasources.instrument import round_trip

log = logging.getLogger(__name__)


class Neo4jGraph(CypherGraph):
    def __init__(self, driver: AsyncDriver, *, database: str) -> None:
        self._driver = driver
        self._database = database
        self._detected: dialect.Dialect | None = None

    async def _dialect(self) -> dialect.Dialect:
        if self._detected is None:
            try:
                await self._read(dialect.FALKORDB_PROBE, {})
            except Neo4jError:  # a real Neo4j: no such procedure
                self._detected = dialect.NEO4J
            else:
                self._detected = dialect.FALKORDB_BOLT
        return self._detected

    async def _read(self, query: str, params: Mapping[str, Any]) -> list[Row]:
        records, _, _ = await self._driver.execute_query(
            query, dict(params), routing_=RoutingControl.READ, database_=self._database
        )
        return [record.values() for record in records]

    async def _write(self, query: str, params: Mapping[str, Any]) -> list[Row]:
        # Retried on transient errors, so every write here is idempotent (MERGE, DELETE, SET).
        async def work(tx: AsyncManagedTransaction) -> list[Row]:
            result = await tx.run(query, dict(params))
            return [record.values() async for record in result]

        async with self._driver.session(database=self._database) as session:
            return await session.execute_write(work)

    @round_trip("neo4j")
    async def ping(self) -> None:
        # One attempt: execute_query retries an unreachable server for 30 s, too long for a health check.
        async with self._driver.session(database=self._database, default_access_mode=READ_ACCESS) as session:
            await (await session.run(cypher.PING)).consume()

    @round_trip("neo4j")
    async def ensure_schema(self) -> None:
        if await self._dialect() is dialect.NEO4J:
            statements = dialect.neo4j_index_ddl()
        else:
            existing = await self._read(dialect.FALKORDB_LIST_INDEXES, {})
            statements = dialect.falkordb_index_ddl((str(label), props) for label, props in existing)
        for statement in statements:
            # One statement per transaction: Neo4j refuses schema and data changes in the same one.
            await self._driver.execute_query(statement, database_=self._database)

    @round_trip("neo4j")
    async def drop_indexes(self) -> None:
        if await self._dialect() is dialect.NEO4J:
            statements = dialect.neo4j_index_drop_ddl()
        else:
            existing = await self._read(dialect.FALKORDB_LIST_INDEXES, {})
            statements = dialect.falkordb_index_drop_ddl(existing, dialect.INDEXES)
        for statement in statements:
            await self._driver.execute_query(statement, database_=self._database)

    @round_trip("neo4j")
    async def ensure_keys(self) -> None:
        if await self._dialect() is not dialect.NEO4J:
            # FalkorDB takes constraints only as its own GRAPH.CONSTRAINT command, which Bolt cannot carry
            log.warning("graph keys: FalkorDB over Bolt cannot create constraints; use the falkordb:// URL for them")
            return
        for statement in dialect.neo4j_key_ddl():
            await self._driver.execute_query(statement, database_=self._database)

    @round_trip("neo4j")
    async def drop_keys(self) -> None:
        if await self._dialect() is not dialect.NEO4J:
            return
        for statement in dialect.neo4j_key_drop_ddl():
            await self._driver.execute_query(statement, database_=self._database)

    async def close(self) -> None:
        await self._driver.close()

"""The graph's migrations, over either backend; the applied version is a `(:SwitchboardSchema)` node.

1. lookup indexes: the (label, property) pairs every query starts from (`dialect.INDEXES`).
2. node keys: a uniqueness constraint per MERGE key (`dialect.KEYS`: the tenant id with the node's id or name),
   so concurrent MERGEs cannot create a node twice. Neo4j: `CREATE CONSTRAINT ... IS UNIQUE`; FalkorDB:
   `GRAPH.CONSTRAINT CREATE ... UNIQUE` over indexes on each property. FalkorDB's Bolt (tests only) cannot
   carry that command: there the step logs so and creates nothing.
"""

from __future__ import annotations

from datasources.graph.base import GraphStore
from datasources.migrations import Migration


class GraphLedger:
    def __init__(self, graph: GraphStore) -> None:
        self.graph = graph

    async def read(self) -> int:
        return await self.graph.schema_version()

    async def write(self, version: int) -> None:
        await self.graph.set_schema_version(version)


def migrations(graph: GraphStore) -> list[Migration]:
    return [
        Migration(1, "lookup indexes", graph.ensure_schema, graph.drop_indexes),
        Migration(2, "node keys (unique MERGE keys)", graph.ensure_keys, graph.drop_keys),
    ]

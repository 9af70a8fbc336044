"""The graph as JSON records (nodes with labels and properties, edges with type and properties), and back,
over `CypherGraph._read/_write`, so both backends (FalkorDB, Neo4j) dump and load the same way.

Labels and relationship types cannot be Cypher parameters: they come from the archive and are written into the
query only after passing `_name`, which admits plain identifiers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from typing import Any

from datasources.graph.store import CypherGraph, chunks

PAGE = 1000
BUDGET = 256_000  # bytes of parameters per request where the server sets no limit of its own
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

NODES_PAGE = ("MATCH (n) WHERE id(n) > $after RETURN id(n), labels(n), properties(n) ORDER BY id(n) LIMIT $limit")
EDGES_PAGE = ("MATCH (a)-[r]->(b) WHERE id(r) > $after "
              "RETURN id(r), id(a), type(r), properties(r), id(b) ORDER BY id(r) LIMIT $limit")
WIPE = "MATCH (n) WITH n LIMIT 10000 DETACH DELETE n RETURN count(*)"
DROP_KEYS = "MATCH (n) WHERE n._bk IS NOT NULL SET n._bk = NULL"


def _name(value: str) -> str:
    if not _IDENT.match(value):
        raise ValueError(f"the archive holds a label or type that is not a plain name: {value!r}")
    return value


def _labels(labels: Iterable[str]) -> str:
    return "".join(f":{_name(label)}" for label in labels)


def count_key(record: dict[str, Any]) -> str:
    return "nodes" if record["kind"] == "node" else "edges"


async def dump(graph: CypherGraph) -> AsyncIterator[dict[str, Any]]:
    """`{"kind": "node", "id", "labels", "props"}` for every node, then `{"kind": "edge", "from", "type",
    "props", "to"}` for every relationship; ids are the server's, only meaningful within the archive."""
    after = -1
    while rows := await graph._read(NODES_PAGE, {"after": after, "limit": PAGE}):
        for node_id, labels, props in rows:
            yield {"kind": "node", "id": int(node_id), "labels": sorted(labels), "props": dict(props)}
        after = int(rows[-1][0])
    after = -1
    while rows := await graph._read(EDGES_PAGE, {"after": after, "limit": PAGE}):
        for _, start, kind, props, end in rows:
            yield {"kind": "edge", "from": int(start), "type": kind, "props": dict(props), "to": int(end)}
        after = int(rows[-1][0])


async def wipe(graph: CypherGraph) -> None:
    """Every node and relationship; indexes, constraints and the graph itself stay."""
    while (rows := await graph._write(WIPE, {})) and rows[0][0]:
        pass


async def load(graph: CypherGraph, records: Iterable[dict[str, Any]]) -> None:
    """Nodes carry a temporary `_bk` (their archive id) while the edges find their ends by it."""
    budget = (await graph._dialect()).request_budget
    nodes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    edges: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list[dict[str, Any]]] = {}
    labels_of: dict[int, tuple[str, ...]] = {}
    pending: list[dict[str, Any]] = []
    for record in records:
        if record["kind"] == "node":
            labels = tuple(record["labels"])
            labels_of[record["id"]] = labels
            nodes.setdefault(labels, []).append({"k": record["id"], "p": record["props"]})
        else:
            pending.append(record)
    for edge in pending:
        key = (edge["type"], labels_of.get(edge["from"], ()), labels_of.get(edge["to"], ()))
        edges.setdefault(key, []).append({"a": edge["from"], "b": edge["to"], "p": edge["props"]})
    for labels, rows in nodes.items():
        query = f"UNWIND $rows AS row CREATE (n{_labels(labels)}) SET n = row.p SET n._bk = row.k"
        for chunk in chunks(rows, budget or BUDGET, most=PAGE, strict=False):
            await graph._write(query, {"rows": chunk})
    for (kind, start, end), rows in edges.items():
        query = (f"UNWIND $rows AS row MATCH (a{_labels(start)} {{_bk: row.a}}) MATCH (b{_labels(end)} {{_bk: row.b}}) "
                 f"CREATE (a)-[r:{_name(kind)}]->(b) SET r = row.p")
        for chunk in chunks(rows, budget or BUDGET, most=PAGE, strict=False):
            await graph._write(query, {"rows": chunk})
    await graph._write(DROP_KEYS, {})

"""What differs between the servers: index DDL and how large one request may be.

Neo4j 5 names its indexes and takes IF NOT EXISTS; FalkorDB takes neither, so its indexes are listed first
and only the missing ones created. Both take the same Cypher otherwise (see cypher.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

# (label, property) pairs every lookup starts from.
INDEXES = (("Lead", "id"), ("Company", "name"), ("User", "id"), ("Call", "id"))

# Succeeds on FalkorDB only (Neo4j has no such procedure); FalkorDB's Bolt calls itself "Neo4j/5.13.0".
FALKORDB_PROBE = "CALL db.meta.stats()"

FALKORDB_LIST_INDEXES = "CALL db.indexes() YIELD label, properties RETURN label, properties"
FALKORDB_LIST_CONSTRAINTS = (
    "CALL db.constraints() YIELD type, label, properties, entitytype RETURN type, label, properties, entitytype"
)


@dataclass(frozen=True)
class Dialect:
    name: str
    # Estimated bytes of parameters one request may carry; None when the server has no practical limit.
    request_budget: int | None


NEO4J = Dialect("neo4j", request_budget=None)
# Over RESP the parameters ride in the query string; a large batch is fine but is still cut into pieces.
FALKORDB = Dialect("falkordb", request_budget=256_000)
# FalkorDB's Bolt crashes the whole server (Redis included) on a request over ~4 KB; leave room for the query.
FALKORDB_BOLT = Dialect("falkordb-bolt", request_budget=2_500)


def neo4j_index_ddl() -> list[str]:
    return [
        f"CREATE INDEX {label.lower()}_{prop} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})" for label, prop in INDEXES
    ]


def falkordb_index_ddl(existing: Iterable[tuple[str, Iterable[str]]]) -> list[str]:
    """DDL for the indexes missing from `existing` (label, properties) rows of db.indexes()."""
    have = {(label, prop) for label, props in existing for prop in props}
    return [f"CREATE INDEX FOR (n:{label}) ON (n.{prop})" for label, prop in INDEXES if (label, prop) not in have]


# Node keys: the MERGE keys of cypher.py. A uniqueness constraint on each makes concurrent MERGEs unable to
# create the same node twice (Neo4j takes the MERGE's lock on the constraint; without it, two transactions
# may both find no node and both create one).
KEYS = (("Lead", ("account_id", "id")), ("Company", ("account_id", "name")), ("User", ("account_id", "id")),
        ("Call", ("account_id", "id")))


def neo4j_index_drop_ddl() -> list[str]:
    return [f"DROP INDEX {label.lower()}_{prop} IF EXISTS" for label, prop in INDEXES]


def falkordb_index_drop_ddl(existing: Iterable[Sequence[Any]], pairs: Iterable[tuple[str, str]]) -> list[str]:
    """DDL dropping those of `pairs` that `existing` (db.indexes() rows: label, properties) has."""
    have = {(str(label), str(prop)) for label, props in existing for prop in props}
    return [f"DROP INDEX ON :{label}({prop})" for label, prop in pairs if (label, prop) in have]


def neo4j_key_ddl() -> list[str]:
    return [
        f"CREATE CONSTRAINT {label.lower()}_key IF NOT EXISTS FOR (n:{label}) "
        f"REQUIRE ({', '.join(f'n.{p}' for p in props)}) IS UNIQUE"
        for label, props in KEYS
    ]


def neo4j_key_drop_ddl() -> list[str]:
    return [f"DROP CONSTRAINT {label.lower()}_key IF EXISTS" for label, _ in KEYS]


def key_index_pairs() -> list[tuple[str, str]]:
    """FalkorDB's unique constraints need an index on each of their properties: the ones INDEXES lacks."""
    return [(label, prop) for label, props in KEYS for prop in props if (label, prop) not in INDEXES]


SCHEMA_VERSION_READ = "MATCH (s:SwitchboardSchema {store: 'graph'}) RETURN s.version"
SCHEMA_VERSION_WRITE = "MERGE (s:SwitchboardSchema {store: 'graph'}) SET s.version = $version"

"""The relationship graph (leads, referrals, companies, owners, calls), on Neo4j or FalkorDB by URL scheme."""

from __future__ import annotations

from urllib.parse import urlsplit

from datasources.graph.base import GraphStore, IntroductionPath, Neighbour, Rel

__all__ = ["GraphStore", "IntroductionPath", "Neighbour", "Rel", "open_graph"]

FALKORDB_SCHEMES = frozenset({"falkordb", "redis", "rediss"})
BOLT_SCHEMES = frozenset({"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"})


def open_graph(url: str, *, user: str = "", password: str = "", database: str = "switchboard") -> GraphStore:
    """A store for NEO4J_URI; no I/O until first use. `database` names the FalkorDB graph or Neo4j database."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in FALKORDB_SCHEMES:
        from datasources.graph.falkordb import FalkorDBGraph

        return FalkorDBGraph(url, graph=database, username=user or None, password=password or None)
    if scheme in BOLT_SCHEMES:
        from neo4j import AsyncGraphDatabase

        from datasources.graph.neo4j import Neo4jGraph

        driver = AsyncGraphDatabase.driver(url, auth=(user, password) if user else None)
        return Neo4jGraph(driver, database=database)
    raise ValueError(f"NEO4J_URI: unsupported scheme '{scheme}' (use bolt://, neo4j:// or falkordb://)")

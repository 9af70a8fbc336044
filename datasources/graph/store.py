"""The GraphStore operations, written once over two primitives that each backend supplies: read and write.

Batch lookups answer in key order with one query per batch; only a backend that cannot take a large
request (FalkorDB's Bolt) cuts a batch into several.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Iterator, Mapping, Sequence
from typing import Any

from datasources.graph import cypher, dialect
from datasources.graph.base import GraphLead, IntroductionPath, Neighbour, graph_leads
from datasources.graph.dialect import Dialect
from datasources.graph.paths import shortest_chain
from datasources.instrument import round_trip

Row = Sequence[Any]


class CypherGraph(ABC):
    @abstractmethod
    async def _read(self, query: str, params: Mapping[str, Any]) -> list[Row]: ...

    @abstractmethod
    async def _write(self, query: str, params: Mapping[str, Any]) -> list[Row]: ...

    @abstractmethod
    async def _dialect(self) -> Dialect: ...

    # Plain defs returning awaitables, so a subclass may implement them with a @round_trip wrapper.
    @abstractmethod
    def ensure_schema(self) -> Awaitable[None]:
        """Creates the lookup indexes that are missing (graph migration 1)."""

    @abstractmethod
    def drop_indexes(self) -> Awaitable[None]: ...

    @abstractmethod
    def ensure_keys(self) -> Awaitable[None]:
        """Uniqueness constraints on the MERGE keys (graph migration 2)."""

    @abstractmethod
    def drop_keys(self) -> Awaitable[None]: ...

    @round_trip("neo4j")
    async def schema_version(self) -> int:
        rows = await self._read(dialect.SCHEMA_VERSION_READ, {})
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0

    @round_trip("neo4j")
    async def set_schema_version(self, version: int) -> None:
        await self._write(dialect.SCHEMA_VERSION_WRITE, {"version": version})

    @abstractmethod
    def close(self) -> Awaitable[None]: ...

    @round_trip("neo4j")
    async def ping(self) -> None:
        await self._read(cypher.PING, {})

    # -- leads -------------------------------------------------------------------------------------------

    @round_trip("neo4j")
    async def upsert_lead(self, *, account_id: int, lead_id: str, company: str | None, owner_id: str | None) -> None:
        await self._upsert(account_id, [(lead_id, company, owner_id)])

    @round_trip("neo4j")
    async def upsert_leads(self, *, account_id: int, leads: Sequence[tuple[str, str | None, str | None]]) -> None:
        await self._upsert(account_id, leads)

    async def _upsert(self, account_id: int, leads: Sequence[tuple[str, str | None, str | None]]) -> None:
        _tenant(account_id)
        rows: dict[str, dict[str, str | None]] = {}
        for lead_id, company, owner_id in leads:
            # A null MERGE key is a runtime error, and a failed write on FalkorDB can corrupt a new
            # property name; refuse bad input before it reaches the server.
            _key(lead_id, "lead_id")
            # One row per lead, the last one given: MERGE in one UNWIND would otherwise race itself.
            rows[lead_id] = {"id": lead_id, "company": company or None, "owner_id": owner_id or None}
        if not rows:
            return
        # Pieces, when the server needs them, are each idempotent: a retry repairs a partly written batch.
        for chunk in chunks(list(rows.values()), (await self._dialect()).request_budget):
            await self._write(cypher.UPSERT_LEADS, {"account_id": account_id, "rows": chunk})

    @round_trip("neo4j")
    async def delete_lead(self, *, account_id: int, lead_id: str) -> None:
        await self._write(cypher.DELETE_LEAD, {"account_id": _tenant(account_id), "lead_id": _key(lead_id)})

    # -- referrals ---------------------------------------------------------------------------------------

    @round_trip("neo4j")
    async def link_leads(self, *, account_id: int, from_id: str, to_id: str) -> bool:
        if _key(from_id, "from_id") == _key(to_id, "to_id"):
            raise ValueError("a lead cannot refer itself")
        params = {"account_id": _tenant(account_id), "from_id": from_id, "to_id": to_id}
        rows = await self._write(cypher.LINK_LEADS, params)
        return bool(rows and rows[0][0])

    @round_trip("neo4j")
    async def unlink_leads(self, *, account_id: int, from_id: str, to_id: str) -> bool:
        params = {"account_id": _tenant(account_id), "from_id": _key(from_id), "to_id": _key(to_id)}
        rows = await self._write(cypher.UNLINK_LEADS, params)
        return bool(rows and rows[0][0])

    @round_trip("neo4j")
    async def referrers(self, *, account_id: int, lead_ids: Sequence[str]) -> list[str | None]:
        """Who referred each lead; when several did, the lowest id, so the answer is stable."""
        found: dict[str, str] = {}
        for lead_id, referrer in await self._batch(cypher.REFERRERS, account_id, lead_ids):
            if lead_id not in found or referrer < found[lead_id]:
                found[lead_id] = referrer
        return [found.get(lead_id) for lead_id in lead_ids]

    @round_trip("neo4j")
    async def referrals(self, *, account_id: int, lead_ids: Sequence[str], depth: int) -> list[list[str]]:
        if not 1 <= depth <= cypher.MAX_DEPTH:
            raise ValueError(f"depth must be between 1 and {cypher.MAX_DEPTH}")
        nearest: dict[str, dict[str, int]] = {}
        for lead_id, other, hops in await self._batch(cypher.REFERRALS[depth], account_id, lead_ids):
            seen = nearest.setdefault(lead_id, {})
            seen[other] = min(hops, seen.get(other, hops))
        return [
            sorted(found, key=lambda other: (found[other], other))
            for found in (nearest.get(lead_id, {}) for lead_id in lead_ids)
        ]

    @round_trip("neo4j")
    async def colleagues(self, *, account_id: int, lead_ids: Sequence[str]) -> list[list[str]]:
        grouped: dict[str, set[str]] = {}
        for lead_id, other in await self._batch(cypher.COLLEAGUES, account_id, lead_ids):
            grouped.setdefault(lead_id, set()).add(other)
        return [sorted(grouped.get(lead_id, ())) for lead_id in lead_ids]

    # -- neighbourhood and paths -------------------------------------------------------------------------

    @round_trip("neo4j")
    async def neighbours(self, *, account_id: int, lead_id: str) -> list[Neighbour]:
        rows = await self._read(cypher.NEIGHBOURS, {"account_id": _tenant(account_id), "lead_id": _key(lead_id)})
        found = {
            Neighbour(relation=str(rel), direction="out" if direction == "out" else "in", label=str(label), id=str(i))
            for rel, direction, label, i in rows
        }
        return sorted(found, key=lambda n: (n.relation, n.direction, n.label, n.id))

    @round_trip("neo4j")
    async def introduction_path(
        self, *, account_id: int, from_id: str, to_id: str, max_hops: int
    ) -> IntroductionPath | None:
        """Fewest lead-to-lead steps, one query per breadth-first level (at most max_hops queries)."""
        if not 1 <= max_hops <= cypher.MAX_DEPTH:
            raise ValueError(f"max_hops must be between 1 and {cypher.MAX_DEPTH}")
        _tenant(account_id)
        if _key(from_id, "from_id") == _key(to_id, "to_id"):
            # Only a lead of this account has a path to itself: no answer about another tenant's ids.
            rows = await self._read(cypher.LEAD_EXISTS, {"account_id": account_id, "lead_id": from_id})
            return IntroductionPath(lead_ids=[from_id], relations=[]) if rows else None

        async def expand(lead_ids: list[str]) -> list[tuple[str, str, str]]:
            rows = await self._batch(cypher.INTRODUCTION_STEP, account_id, lead_ids)
            return [(str(src), str(dst), str(rel)) for src, dst, rel in rows]

        return await shortest_chain(start=from_id, goal=to_id, max_hops=max_hops, expand=expand)

    # -- calls -------------------------------------------------------------------------------------------

    @round_trip("neo4j")
    async def link_call(
        self, *, account_id: int, lead_id: str, call_id: str, state: str, started_at: str | None,
        outcome: str | None = None, score: int | None = None, closer_id: str | None = None,
    ) -> None:
        """(:Lead)-[:HAD_CALL {outcome}]->(:Call {state, outcome, score}), and (:Call)-[:HANDLED_BY]->(:User) for
        a transfer to a closer."""
        params = {
            "account_id": _tenant(account_id),
            "lead_id": _key(lead_id, "lead_id"),
            "call_id": _key(call_id, "call_id"),
            "state": state,
            "started_at": started_at,
            "outcome": outcome,
            "score": score,
        }
        await self._write(cypher.LINK_CALL, params)
        if closer_id is not None:
            await self._write(cypher.LINK_CLOSER, {"account_id": params["account_id"], "call_id": params["call_id"],
                                                   "user_id": _key(closer_id, "closer_id")})

    @round_trip("neo4j")
    async def calls_of(self, *, account_id: int, lead_ids: Sequence[str]) -> list[list[str]]:
        """Call ids per lead, newest start first (calls never started last), then by id."""
        grouped: dict[str, dict[str, str]] = {}
        for lead_id, call_id, started_at in await self._batch(cypher.CALLS_OF, account_id, lead_ids):
            grouped.setdefault(lead_id, {})[call_id] = started_at or ""
        result: list[list[str]] = []
        for lead_id in lead_ids:
            calls = grouped.get(lead_id, {})
            by_id = sorted(calls)
            result.append(sorted(by_id, key=lambda c: calls[c], reverse=True))  # stable: ties keep id order
        return result

    # -- reconciliation reads ----------------------------------------------------------------------------

    @round_trip("neo4j")
    async def projected_leads(self, *, account_id: int, lead_ids: Sequence[str]) -> list[GraphLead]:
        return graph_leads(await self._batch(cypher.PROJECTED_LEADS, account_id, lead_ids))

    @round_trip("neo4j")
    async def lead_ids_page(self, *, account_id: int, limit: int, after: str = "") -> list[str]:
        params = {"account_id": _tenant(account_id), "after": after, "limit": limit}
        return [str(row[0]) for row in await self._read(cypher.LEAD_IDS_PAGE, params)]

    @round_trip("neo4j")
    async def clear_account(self, *, account_id: int) -> None:
        await self._write(cypher.CLEAR_ACCOUNT, {"account_id": _tenant(account_id)})

    # -- helpers -----------------------------------------------------------------------------------------

    async def _batch(self, query: str, account_id: int, lead_ids: Sequence[str]) -> list[Row]:
        _tenant(account_id)
        keys = list(dict.fromkeys(_key(lead_id) for lead_id in lead_ids))
        if not keys:
            return []
        rows: list[Row] = []
        for chunk in chunks(keys, (await self._dialect()).request_budget):
            rows.extend(await self._read(query, {"account_id": account_id, "lead_ids": chunk}))
        return rows


def _tenant(account_id: int) -> int:
    if not isinstance(account_id, int) or isinstance(account_id, bool):
        raise TypeError("account_id must be an int")
    return account_id


def _key(value: str, name: str = "lead_id") -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def chunks[T](items: list[T], budget: int | None, *, most: int | None = None, strict: bool = True) -> Iterator[
    list[T]
]:
    """Consecutive pieces whose parameters stay within budget (JSON size, a little above the wire size), of at
    most `most` items. An item over the budget alone raises when `strict`, else it goes in a piece of its own
    (a restore sends what the server held, and lets the server judge it)."""
    if budget is None and most is None:
        if items:
            yield items
        return
    chunk: list[T] = []
    size = 0
    for item in items:
        cost = len(json.dumps(item)) + 1 if budget is not None else 0
        if strict and budget is not None and cost > budget:
            raise ValueError(f"one item is too large for a request to this graph server ({cost} bytes)")
        if chunk and ((budget is not None and size + cost > budget) or (most is not None and len(chunk) >= most)):
            yield chunk
            chunk, size = [], 0
        chunk.append(item)
        size += cost
    if chunk:
        yield chunk

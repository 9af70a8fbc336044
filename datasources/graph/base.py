"""What the relationship graph answers, independent of the server that holds it.

Every node carries `account_id`; every method takes the tenant and filters on it, so a caller cannot
reach another account's nodes. Ids are strings; a Company is keyed by its name.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol


class Rel(StrEnum):
    REFERRED = "REFERRED"
    WORKS_AT = "WORKS_AT"
    OWNS = "OWNS"
    HAD_CALL = "HAD_CALL"


@dataclass(frozen=True)
class Neighbour:
    relation: str
    direction: Literal["out", "in"]
    label: str
    id: str


@dataclass(frozen=True)
class GraphLead:
    """A Lead node as the graph holds it: its companies and owners (one or none each, unless drifted), sorted."""

    lead_id: str
    companies: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()


def graph_leads(rows: Iterable[Sequence[Any]]) -> list[GraphLead]:
    """Rows of (id, [company names], [owner ids]) as records; nulls dropped."""
    return [
        GraphLead(
            lead_id=str(lead_id),
            companies=tuple(sorted(str(c) for c in companies or () if c is not None)),
            owners=tuple(sorted(str(o) for o in owners or () if o is not None)),
        )
        for lead_id, companies, owners in rows
    ]


@dataclass(frozen=True)
class IntroductionPath:
    lead_ids: list[str]
    relations: list[str]  # relations[i] joins lead_ids[i] and lead_ids[i + 1]: "REFERRED" or "COLLEAGUE"


class GraphStore(Protocol):
    # Awaitables rather than `async def`: implementations wrap their methods in instrument.round_trip, whose
    # wrapper is typed as returning an Awaitable. Call every method with await.

    def ensure_schema(self) -> Awaitable[None]: ...

    def drop_indexes(self) -> Awaitable[None]: ...

    def ensure_keys(self) -> Awaitable[None]: ...

    def drop_keys(self) -> Awaitable[None]: ...

    def schema_version(self) -> Awaitable[int]: ...

    def set_schema_version(self, version: int) -> Awaitable[None]: ...

    def ping(self) -> Awaitable[None]: ...

    def close(self) -> Awaitable[None]: ...

    def upsert_lead(
        self, *, account_id: int, lead_id: str, company: str | None, owner_id: str | None
    ) -> Awaitable[None]: ...

    def upsert_leads(
        self, *, account_id: int, leads: Sequence[tuple[str, str | None, str | None]]
    ) -> Awaitable[None]: ...

    def delete_lead(self, *, account_id: int, lead_id: str) -> Awaitable[None]: ...

    def projected_leads(self, *, account_id: int, lead_ids: Sequence[str]) -> Awaitable[list[GraphLead]]:
        """The Lead nodes of these ids that exist (in no particular order), with their company and owner."""
        ...

    def lead_ids_page(self, *, account_id: int, limit: int, after: str = "") -> Awaitable[list[str]]:
        """Up to `limit` Lead ids of the account, ascending, each greater than `after`."""
        ...

    def link_leads(self, *, account_id: int, from_id: str, to_id: str) -> Awaitable[bool]: ...

    def unlink_leads(self, *, account_id: int, from_id: str, to_id: str) -> Awaitable[bool]: ...

    def referrers(self, *, account_id: int, lead_ids: Sequence[str]) -> Awaitable[list[str | None]]: ...

    def referrals(self, *, account_id: int, lead_ids: Sequence[str], depth: int) -> Awaitable[list[list[str]]]: ...

    def colleagues(self, *, account_id: int, lead_ids: Sequence[str]) -> Awaitable[list[list[str]]]: ...

    def neighbours(self, *, account_id: int, lead_id: str) -> Awaitable[list[Neighbour]]: ...

    def introduction_path(
        self, *, account_id: int, from_id: str, to_id: str, max_hops: int
    ) -> Awaitable[IntroductionPath | None]: ...

    def link_call(
        self, *, account_id: int, lead_id: str, call_id: str, state: str, started_at: str | None,
        outcome: str | None = None, score: int | None = None, closer_id: str | None = None,
    ) -> Awaitable[None]: ...

    def calls_of(self, *, account_id: int, lead_ids: Sequence[str]) -> Awaitable[list[list[str]]]: ...

    def clear_account(self, *, account_id: int) -> Awaitable[None]: ...

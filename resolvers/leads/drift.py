"""Drift between MongoDB (the record) and its projections in Chroma and the graph: plain functions over values.

A lead projects to one Chroma entry (`lead_text`) and one Lead node with its company and owner. Archived leads
stay projected (archiving is an update like any other), so only a lead that MongoDB no longer holds makes an
orphan. The caller pages: `projection_drift` compares a page of records with what the stores hold for those ids;
`orphans` takes a page of a store's ids and the ids of those MongoDB holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from datasources.graph.base import GraphLead
from datasources.mongo.records import LeadRecord
from datasources.vectors import LeadText
from resolvers.leads.propagate import lead_text


class Store(StrEnum):
    chroma = "chroma"
    graph = "graph"


class Kind(StrEnum):
    missing = "missing"  # in MongoDB, not in the store
    stale = "stale"  # in both, but the store holds other values than the record projects to
    orphaned = "orphaned"  # in the store, not in MongoDB


@dataclass(frozen=True)
class StoreDrift:
    missing: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()
    orphaned: tuple[str, ...] = ()

    def ids(self, kind: Kind) -> tuple[str, ...]:
        return getattr(self, kind.value)  # type: ignore[no-any-return]

    def __bool__(self) -> bool:
        return bool(self.missing or self.stale or self.orphaned)

    def __add__(self, other: StoreDrift) -> StoreDrift:
        return StoreDrift(
            self.missing + other.missing, self.stale + other.stale, self.orphaned + other.orphaned
        )


@dataclass(frozen=True)
class Drift:
    chroma: StoreDrift = field(default_factory=StoreDrift)
    graph: StoreDrift = field(default_factory=StoreDrift)

    def of(self, store: Store) -> StoreDrift:
        return self.chroma if store is Store.chroma else self.graph

    def __bool__(self) -> bool:
        return bool(self.chroma or self.graph)

    def __add__(self, other: Drift) -> Drift:
        return Drift(self.chroma + other.chroma, self.graph + other.graph)

    def counts(self) -> dict[tuple[Store, Kind], int]:
        return {(store, kind): len(self.of(store).ids(kind)) for store in Store for kind in Kind}


def graph_projection(record: LeadRecord) -> GraphLead:
    """The node `propagate` writes for a record (an empty company name or owner makes no edge)."""
    return GraphLead(
        lead_id=record.id,
        companies=(record.company.name,) if record.company.name else (),
        owners=(str(record.owner_id),) if record.owner_id is not None else (),
    )


def compare[T](expected: Mapping[str, T], held: Mapping[str, T]) -> StoreDrift:
    """Missing, stale and orphaned ids (each sorted) of one store, from what it should hold and what it does."""
    return StoreDrift(
        missing=tuple(sorted(expected.keys() - held.keys())),
        stale=tuple(sorted(i for i in expected.keys() & held.keys() if expected[i] != held[i])),
        orphaned=tuple(sorted(held.keys() - expected.keys())),
    )


def projection_drift(
    records: Iterable[LeadRecord], vectors: Iterable[LeadText], nodes: Iterable[GraphLead]
) -> Drift:
    """Drift of the given records against the stores' entries of the same account (entries of other ids: orphans)."""
    records = list(records)
    return Drift(
        chroma=compare({r.id: lead_text(r) for r in records}, {v.lead_id: v for v in vectors}),
        graph=compare({r.id: graph_projection(r) for r in records}, {n.lead_id: n for n in nodes}),
    )


def orphans(held: Iterable[str], recorded: Iterable[str]) -> tuple[str, ...]:
    """The ids a store holds that MongoDB does not, sorted."""
    return tuple(sorted(set(held) - set(recorded)))

"""The drift finder: identical projections give no drift; each injected difference is reported once, rightly."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from datasources.graph.base import GraphLead
from datasources.mongo.records import CompanyRecord, ConsentRecord, LeadRecord, QualificationRecord
from datasources.vectors import LeadText
from resolvers.leads.drift import Drift, Kind, Store, graph_projection, orphans, projection_drift
from resolvers.leads.propagate import lead_text

NOW = datetime(2026, 11, 1, tzinfo=UTC)
ids = st.text("0123456789abcdef", min_size=24, max_size=24)
names = st.one_of(st.none(), st.text(min_size=1, max_size=12))


@st.composite
def lead_records(draw: st.DrawFn, lead_id: str) -> LeadRecord:
    return LeadRecord(
        id=lead_id, account_id=7, first_name=draw(st.text(max_size=8)), last_name=draw(st.text(max_size=8)),
        email=None, phone="+4930123456", company=CompanyRecord(name=draw(names), title=draw(names)),
        source=draw(st.sampled_from(["web", "referral"])), status=draw(st.sampled_from(["new", "won"])),
        priority="medium", score=0, qualification=QualificationRecord(),
        tags=tuple(draw(st.lists(st.text(min_size=1, max_size=8), max_size=2))), notes=(), consent=ConsentRecord(),
        do_not_call=False, timezone="UTC",
        owner_id=draw(st.one_of(st.none(), st.integers(1, 9))), next_follow_up_at=None, last_contacted_at=None,
        contact_attempts=0, archived_at=draw(st.sampled_from([None, NOW])), created_at=NOW, updated_at=NOW,
    )


@st.composite
def accounts(draw: st.DrawFn) -> list[LeadRecord]:
    lead_ids = draw(st.lists(ids, unique=True, max_size=12))
    return [draw(lead_records(i)) for i in lead_ids]


def projections(records: list[LeadRecord]) -> tuple[dict[str, LeadText], dict[str, GraphLead]]:
    return {r.id: lead_text(r) for r in records}, {r.id: graph_projection(r) for r in records}


@given(accounts())
def test_identical_projections_have_no_drift(records: list[LeadRecord]) -> None:
    vectors, nodes = projections(records)
    assert projection_drift(records, vectors.values(), nodes.values()) == Drift()
    assert not projection_drift(records, vectors.values(), nodes.values())


@given(st.data(), accounts(), st.lists(ids, unique=True, max_size=4))
def test_each_injected_difference_is_reported_once_in_its_class(
    data: st.DataObject, records: list[LeadRecord], extra: list[str]
) -> None:
    vectors, nodes = projections(records)
    recorded = {r.id for r in records}
    extra = [i for i in extra if i not in recorded]
    injected: dict[Store, dict[Kind, set[str]]] = {}
    for store, held in ((Store.chroma, vectors), (Store.graph, nodes)):
        kinds = data.draw(st.lists(st.sampled_from([None, Kind.missing, Kind.stale]),
                                   min_size=len(records), max_size=len(records)))
        chosen = {kind: {r.id for r, k in zip(records, kinds, strict=True) if k is kind} for kind in Kind}
        for lead_id in chosen[Kind.missing]:
            del held[lead_id]
        for lead_id in chosen[Kind.stale]:
            if store is Store.chroma:
                vectors[lead_id] = replace(vectors[lead_id], text=vectors[lead_id].text + " (old)")
            else:
                nodes[lead_id] = replace(nodes[lead_id], companies=(*nodes[lead_id].companies, "Elsewhere"))
        chosen[Kind.orphaned] = set(data.draw(st.lists(st.sampled_from(extra), unique=True)) if extra else [])
        for lead_id in chosen[Kind.orphaned]:
            if store is Store.chroma:
                vectors[lead_id] = LeadText(lead_id=lead_id, text="gone")
            else:
                nodes[lead_id] = GraphLead(lead_id=lead_id)
        injected[store] = chosen

    drift = projection_drift(records, vectors.values(), nodes.values())

    for store in Store:
        found = drift.of(store)
        reported = [i for kind in Kind for i in found.ids(kind)]
        assert len(reported) == len(set(reported))  # once, in one class
        for kind in Kind:
            assert set(found.ids(kind)) == injected[store][kind], (store, kind)
            assert list(found.ids(kind)) == sorted(found.ids(kind))
        assert drift.counts()[(store, Kind.stale)] == len(injected[store][Kind.stale])


@given(st.sets(ids), st.sets(ids))
def test_orphans_are_held_ids_the_record_lacks(held: set[str], recorded: set[str]) -> None:
    assert set(orphans(held, recorded)) == held - recorded


def test_an_archived_lead_stays_projected() -> None:
    record = LeadRecord(
        id="a" * 24, account_id=7, first_name="Ada", last_name="L", email=None, phone="+4930123456",
        company=CompanyRecord(name="Acme"), source="web", status="new", priority="medium", score=0,
        qualification=QualificationRecord(), tags=(), notes=(), consent=ConsentRecord(), do_not_call=False,
        timezone="UTC", owner_id=3, next_follow_up_at=None, last_contacted_at=None, contact_attempts=0,
        archived_at=NOW, created_at=NOW, updated_at=NOW,
    )
    node = GraphLead(lead_id=record.id, companies=("Acme",), owners=("3",))
    assert graph_projection(record) == node
    assert not projection_drift([record], [lead_text(record)], [node])

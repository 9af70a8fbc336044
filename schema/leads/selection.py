"""Which fields of a lead's record a selection on the `Lead` type reads (resolvers/leads/reads.py), so that an
edge to a lead asks MongoDB for those alone (`loaders.lead_view`) instead of the whole document."""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from datasources.mongo.records import LeadRecord
from resolvers.leads.reads import READS
from schema.context import Info


def _names(selections: Iterable[Selection]) -> Iterable[str]:
    for s in selections:
        if isinstance(s, SelectedField):
            yield s.name
        elif isinstance(s, FragmentSpread | InlineFragment):  # on Lead, or on an interface it implements
            yield from _names(s.selections)


def record_fields(selections: Iterable[Selection]) -> frozenset[str] | None:
    """The record fields a selection on `Lead` reads; None when some field needs the whole record."""
    needed: set[str] = set()
    for name in _names(selections):
        reads = READS.get(name)
        if reads is None:
            return None
        needed.update(reads)
    return frozenset(needed)


async def load_lead(info: Info, lead_id: str) -> LeadRecord | None:
    """The lead this field answers, read for what the field's selection asks of it."""
    loaders = info.context.loaders
    fields = record_fields(s for f in info.selected_fields for s in f.selections)
    if fields is None:
        return await loaders.lead.load(lead_id)  # type: ignore[no-any-return]
    return await loaders.lead_view.load((lead_id, fields))  # type: ignore[no-any-return]

"""Which fields of a lead's record a selection on the `Lead` type reads, so that an edge to a lead asks MongoDB
for those alone (`loaders.lead_view`) instead of the whole document.

`READS` is the one list of what each field of `Lead` looks at in its `LeadRecord`, the fields its own nested
resolvers need included (`owner` the owner id, the graph and Chroma edges the sync state for
`extensions.projections`). The record's id is always read. A field missing from `READS` makes the selection
read the whole record, so a new field is never answered from a default; `tests/schema/test_lead_selection.py`
fails until it is listed, and checks every field against the whole read.
"""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from datasources.mongo.records import LeadRecord
from schema.context import Info

_SYNC = ("sync_pending", "sync_failed")

READS: dict[str, tuple[str, ...]] = {
    "__typename": (),
    "id": (),
    "firstName": ("first_name",),
    "lastName": ("last_name",),
    "fullName": ("first_name", "last_name"),
    "email": ("email",),
    "phone": ("phone",),
    "company": ("company",),
    "source": ("source",),
    "status": ("status",),
    "priority": ("priority",),
    "score": ("score",),
    "qualification": ("qualification",),
    "tags": ("tags",),
    "notes": ("notes",),
    "consent": ("consent",),
    "doNotCall": ("do_not_call",),
    "timezone": ("timezone",),
    "nextFollowUpAt": ("next_follow_up_at",),
    "lastContactedAt": ("last_contacted_at",),
    "contactAttempts": ("contact_attempts",),
    "archivedAt": ("archived_at",),
    "createdAt": ("created_at",),
    "updatedAt": ("updated_at",),
    "syncState": _SYNC,
    "indexedAt": ("indexed_at",),
    "graphSyncedAt": ("graph_synced_at",),
    "owner": ("owner_id",),
    "account": (),
    "referredBy": _SYNC,
    "referrals": _SYNC,
    "colleagues": _SYNC,
    "similar": _SYNC,
    "liveCall": (),
    "calls": (),
    "stops": (),
}


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

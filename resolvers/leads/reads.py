"""What each field of the GraphQL `Lead` reads of its `LeadRecord`, so that an edge to a lead asks MongoDB for
those fields alone (schema/leads/selection.py, resolvers/compiled/plan.py).

A field's entry names the fields its own nested resolvers need too (`owner` the owner id, the graph and Chroma
edges the sync state for `extensions.projections`); the record's id is always read. A field missing here makes
its selection read the whole record, so a new field is never answered from a default:
tests/schema/test_lead_selection.py fails until it is listed, and checks every field against the whole read.
"""

from __future__ import annotations

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

"""Checks a stop given in a mutation, including that the lead it visits exists in the caller's account."""

from __future__ import annotations

import dataclasses

from datasources.postgres.routes import NewStop
from resolvers.context import RequestContext
from resolvers.ids import decode_as
from resolvers.results import Failure

STOP_KINDS = ("pickup", "delivery", "visit")


async def check_stops(ctx: RequestContext, stops: list[NewStop], *, field: str) -> list[NewStop] | Failure:
    """Stops as given (`lead_id` a global Lead id) to stops to store (`lead_id` the lead's key), or a Failure."""
    checked: list[NewStop] = []
    lead_keys: list[tuple[str, str]] = []
    for i, s in enumerate(stops):
        at = f"{field}[{i}]" if len(stops) > 1 or field.endswith("s") else field
        if not s.address.strip():
            return Failure.invalid(f"{at}.address", "must not be empty")
        if not -90 <= s.latitude <= 90:
            return Failure.invalid(f"{at}.latitude", "must be between -90 and 90")
        if not -180 <= s.longitude <= 180:
            return Failure.invalid(f"{at}.longitude", "must be between -180 and 180")
        if s.kind not in STOP_KINDS:
            return Failure.invalid(f"{at}.kind", f"must be one of {', '.join(STOP_KINDS)}")
        if not 0 <= s.demand <= 1_000_000:
            return Failure.invalid(f"{at}.demand", "must be between 0 and 1000000")
        if not 0 <= s.service_min <= 24 * 60:
            return Failure.invalid(f"{at}.serviceMinutes", "must be between 0 and 1440")
        if s.window_start and s.window_end and s.window_end <= s.window_start:
            return Failure.invalid(f"{at}.windowEnd", "must be after windowStart")
        lead_key = decode_as(s.lead_id, "Lead", field=f"{at}.leadId") if s.lead_id else None
        if lead_key:
            lead_keys.append((f"{at}.leadId", lead_key))
        checked.append(dataclasses.replace(s, address=s.address.strip(), lead_id=lead_key))
    found = await ctx.loaders.lead.load_many([key for _, key in lead_keys])
    for (at, _), lead in zip(lead_keys, found, strict=True):
        if lead is None:
            return Failure.not_found(at, "lead")
    return checked

"""May we dial this lead now? Pure: the lead's flags and the clock in, a refusal reason (or None) out."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CALLING_HOURS = (time(8, 0), time(21, 0))


def refusal(*, consent_to_call: bool, do_not_call: bool, timezone: str, now: datetime) -> str | None:
    if do_not_call:
        return "the lead is on the do-not-call list"
    if not consent_to_call:
        return "the lead has not consented to calls"
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"the lead's time zone {timezone!r} is unknown, so calling hours cannot be checked"
    local = now.astimezone(zone)
    start, end = CALLING_HOURS
    if not start <= local.time() < end:
        return (
            f"outside calling hours: it is {local:%H:%M} in {timezone} "
            f"(calls only {start:%H:%M}-{end:%H:%M} local time)"
        )
    return None

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from schema.leads.enums import LeadPriority, LeadSource, LeadStatus


@strawberry.input
class CompanyInput:
    name: str | None = None
    title: str | None = None
    industry: str | None = None
    size: str | None = None
    website: str | None = None


@strawberry.input(
    description="Consent per channel. On update only the flags given change; on create a flag left out is false."
)
class ConsentInput:
    # UNSET, not False: a default would withdraw the consent an update did not mention
    call: bool | None = strawberry.UNSET
    sms: bool | None = strawberry.UNSET
    email: bool | None = strawberry.UNSET


@strawberry.input
class QualificationInput:
    budget: str | None = None
    authority: str | None = None
    need: str | None = None
    timeline: str | None = None


@strawberry.input
class CreateLeadInput:
    first_name: str
    phone: str = strawberry.field(description="International format, e.g. +14155550123; stored as E.164.")
    last_name: str = ""
    email: str | None = None
    company: CompanyInput | None = None
    source: LeadSource = LeadSource.WEB
    status: LeadStatus = LeadStatus.NEW
    priority: LeadPriority = LeadPriority.MEDIUM
    score: int = 0
    tags: list[str] = strawberry.field(default_factory=list)
    consent: ConsentInput | None = None
    do_not_call: bool = False
    timezone: str = "UTC"
    owner_id: strawberry.ID | None = None
    qualification: QualificationInput | None = None
    notes: list[str] = strawberry.field(default_factory=list)


@strawberry.input(description="Only the fields given are changed.")
class UpdateLeadInput:
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    company: CompanyInput | None = None
    priority: LeadPriority | None = None
    score: int | None = None
    tags: list[str] | None = None
    consent: ConsentInput | None = None
    timezone: str | None = None
    owner_id: strawberry.ID | None = None
    qualification: QualificationInput | None = None
    next_follow_up_at: datetime | None = None


@strawberry.input
class LeadFilterInput:
    status: list[LeadStatus] = strawberry.field(default_factory=list)
    source: list[LeadSource] = strawberry.field(default_factory=list)
    tags: list[str] = strawberry.field(default_factory=list, description="Leads carrying all of these tags.")
    owner_id: strawberry.ID | None = None
    text: str | None = strawberry.field(default=None, description="Words in names, company or tags.")
    include_archived: bool = False


def plain(value: Any) -> Any:
    """An input object as plain Python values: enums to their stored strings, nested inputs to dicts.

    A field the client left out (UNSET) is left out of the dict, so it cannot overwrite a stored value.
    """
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        given = ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
        return {name: plain(v) for name, v in given if v is not strawberry.UNSET}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value

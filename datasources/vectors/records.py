from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VectorMatch:
    id: str
    score: float  # 1 - cosine distance: 1.0 is the same direction, higher is closer


@dataclass(frozen=True)
class LeadText:
    """What the `leads` collection indexes for one lead: its profile and notes as one text."""

    lead_id: str
    text: str
    status: str | None = None
    source: str | None = None

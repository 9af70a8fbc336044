from __future__ import annotations

from enum import Enum

import strawberry

from schema.leads.types import Lead


@strawberry.enum
class Relation(Enum):
    REFERRED = "REFERRED"
    COLLEAGUE = "COLLEAGUE"


@strawberry.type(description="The shortest chain of introductions between two leads.")
class IntroductionPath:
    leads: list[Lead]
    relations: list[Relation] = strawberry.field(description="relations[i] joins leads[i] and leads[i+1].")

    @strawberry.field
    def hops(self) -> int:
        return len(self.relations)


@strawberry.type
class LinkPayload:
    referrer: Lead
    referred: Lead

from enum import Enum

import strawberry

from datasources.mongo.leads import LeadOrder
from resolvers.leads.projector import SyncState


@strawberry.enum
class LeadStatus(Enum):
    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    UNQUALIFIED = "unqualified"
    NURTURING = "nurturing"
    CONVERTED = "converted"
    LOST = "lost"


@strawberry.enum
class LeadSource(Enum):
    WEB = "web"
    REFERRAL = "referral"
    COLD_CALL = "cold_call"
    EVENT = "event"
    PARTNER = "partner"
    IMPORT = "import"
    INBOUND_CALL = "inbound_call"


@strawberry.enum
class LeadPriority(Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"


@strawberry.enum(description="Sort order of `Query.leads`.")
class LeadOrderBy(Enum):
    CREATED_AT_DESC = LeadOrder.CREATED_AT_DESC
    CREATED_AT_ASC = LeadOrder.CREATED_AT_ASC
    SCORE_DESC = LeadOrder.SCORE_DESC
    NAME_ASC = LeadOrder.NAME_ASC


# the one definition is the projector's; this makes it the GraphQL enum
strawberry.enum(
    SyncState,
    description="Whether Chroma and the graph hold this version of the lead: MongoDB is the record, they follow.",
)

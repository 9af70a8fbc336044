"""GraphiQL at GET /graphql, opened on example operations that cross the stores."""

from __future__ import annotations

import json

from strawberry.http.ides import get_graphql_ide_html

CROSS_STORE = """# Switchboard: one graph over five stores.
# Routes and stops come from PostgreSQL, leads from MongoDB, referrals from the
# graph (Neo4j / FalkorDB) and `similar` from Chroma. Run it (Ctrl-Enter) and open
# the response's `extensions.stores` (when SWITCHBOARD_DEBUG_STATS=1) to see one
# round trip per store and depth, however many rows come back.
query CrossStore {
  routes(first: 3) {
    edges {
      node {
        number
        date
        driver { fullName email }
        vehicle { plate }
        stops {
          sequence
          address
          lead {
            fullName
            status
            company { name }
            referrals { fullName }
            similar(first: 2) { score lead { fullName } }
          }
        }
      }
    }
  }
}
"""

EXAMPLES = [
    ("Cross-store routes", CROSS_STORE),
    (
        "Leads",
        """query Leads($after: String) {
  leads(first: 10, after: $after, filter: {status: [NEW, QUALIFIED]}, orderBy: SCORE_DESC) {
    edges { cursor node { id fullName score status tags owner { fullName } colleagues { fullName } } }
    pageInfo { hasNextPage endCursor }
  }
}
""",
    ),
    (
        "Semantic search",
        """query Search {
  searchLeads(text: "fleet telematics for refrigerated trucks", first: 5) {
    score
    lead { fullName company { name industry } referredBy { fullName } }
  }
}
""",
    ),
    (
        "Watch live calls",
        """# Run this first: it follows every call of your account as it moves.
# Then, in another tab, run "Start a call". With no Telnyx account the simulated
# carrier plays the call's webhooks into this server's real webhook endpoint.
# Keep `cursor` of the last event: liveCalls(after: "<cursor>") resumes without a gap.
subscription LiveCalls {
  liveCalls {
    cursor
    type
    occurredAt
    call { id state answeredBy hangupCause durationSec lead { fullName phone } }
  }
}
""",
    ),
    (
        "Start a call",
        """# Picks leads you may call; the last digit of the number picks the simulated outcome:
# 0-5 answered, 6 voicemail, 7 busy, 8 no answer, 9 stays on the line (try speak / hangUpCall).
query Callable { leads(first: 5, filter: {status: [NEW, CONTACTED]}) { edges { node { id fullName phone
  timezone doNotCall consent { call } } } } }

mutation StartCall($leadId: ID!) {
  startCall(leadId: $leadId) {
    __typename
    ... on CallPayload { call { id state } }
    ... on CallRefusedError { message }
  }
}
""",
    ),
    (
        "Create a lead",
        """mutation Create {
  createLead(input: {firstName: "Ada", lastName: "Lovelace", phone: "+14155550199",
                     email: "ada@example.com", company: {name: "Analytical Engines"},
                     consent: {call: true}, timezone: "America/Los_Angeles"}) {
    __typename
    ... on LeadPayload { lead { id fullName similar(first: 3) { score lead { fullName } } } }
    ... on ValidationError { field message }
    ... on ConflictError { field message }
    ... on StoreUnavailableError { store message }
  }
}
""",
    ),
]


def graphiql_html() -> str:
    html = get_graphql_ide_html("graphiql")
    tabs = json.dumps([{"query": query} for _, query in EXAMPLES])
    start = html.index("const EXAMPLE_QUERY = `")
    end = html.index("`;", start) + 2
    html = html[:start] + f"const EXAMPLE_QUERY = {json.dumps(CROSS_STORE)};\nconst EXAMPLE_TABS = {tabs};" + html[end:]
    props = "defaultEditorToolsVisibility: true,"
    html = html.replace(props, f"{props}\n          defaultTabs: EXAMPLE_TABS,")
    return html.replace("<title>Strawberry GraphiQL</title>", "<title>Switchboard GraphiQL</title>")

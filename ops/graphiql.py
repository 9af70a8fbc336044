"""GraphiQL at GET /graphql: a sign-in bar over GraphiQL, opened on example operations that cross the stores.

Every script and style sheet is served from this package (`graphiql_routes`), so the page works offline and no
request leaves the machine; ops/static/graphiql/VERSIONS.md names the pinned upstream files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from resolvers.ids import encode

ASSETS_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
ASSETS_PATH = "/graphiql"

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


class Example(NamedTuple):
    title: str
    query: str
    variables: str | None = None


EXAMPLES = [
    Example("Cross-store routes", CROSS_STORE),
    Example(
        "Leads",
        """query Leads($after: String) {
  leads(first: 10, after: $after, filter: {status: [NEW, QUALIFIED]}, orderBy: SCORE_DESC) {
    edges { cursor node { id fullName score status tags owner { fullName } colleagues { fullName } } }
    pageInfo { hasNextPage endCursor }
  }
}
""",
    ),
    Example(
        "Semantic search",
        """query Search {
  searchLeads(text: "fleet telematics for refrigerated trucks", first: 5) {
    score
    lead { fullName company { name industry } referredBy { fullName } }
  }
}
""",
    ),
    Example(
        "Live calls",
        """# Run this first: it follows every call of your account as it moves.
# Then, in another tab, run "Start a call". With no Telnyx account the simulated
# carrier plays the call's webhooks into this server's real webhook endpoint.
# Keep `cursor` of the last event: liveCalls(after: "<cursor>") resumes without a gap.
subscription LiveCalls {
  liveCalls { cursor type call { id state lead { fullName } } }
}
""",
    ),
    Example(
        "Callable leads",
        """# Leads you may call: consent to call and not on the do-not-call list. Calls are refused
# outside 8:00-21:00 in the lead's timezone. Copy an `id` into "Start a call".
query Callable { leads(first: 5, filter: {status: [NEW, CONTACTED]}) { edges { node { id fullName phone
  timezone doNotCall consent { call } } } } }
""",
    ),
    Example(
        "Start a call",
        """# Put a lead's id (from "Callable leads") in the variables below. With the simulated carrier
# the last digit of the number picks the outcome:
# 0-5 answered, 6 voicemail, 7 busy, 8 no answer, 9 stays on the line (try speak / hangUpCall).
mutation Start($leadId: ID!) {
  startCall(leadId: $leadId) {
    __typename
    ... on CallPayload { call { id state } }
    ... on UserError { message }
  }
}
""",
        '{"leadId": ""}',
    ),
    Example(
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

# the demo account's vans (its vehicles are made first, so their keys are 1-6 in a fresh store) and today's
# demo routes: "Optimise a demo day" plans them at once
DEMO_VANS = [encode("Vehicle", key) for key in range(1, 7)]
EXAMPLES.append(Example(
    "Optimise a demo day",
    """# Plans every pending stop of today's demo routes over the demo vans (sign in as the
# owner, a manager or the dispatcher). It answers at once with a QUEUED job; copy its id
# into "Follow and apply a plan". Each stop has a demand and a time window, each van a
# capacity, a shift and a depot; the result says which stops could not be placed and why.
mutation Optimise($date: Date!, $vehicleIds: [ID!]!) {
  optimizeRoutes(input: {date: $date, vehicleIds: $vehicleIds, unplannedForDate: true,
                         timeLimitSeconds: 5, objective: HIERARCHICAL}) {
    __typename
    ... on OptimizationJobPayload { job { id status } }
    ... on UserError { message }
  }
}
""",
    json.dumps({"date": datetime.now(UTC).date().isoformat(), "vehicleIds": DEMO_VANS}),
))
EXAMPLES.append(Example(
    "Follow and apply a plan",
    """# Run Progress first: the best objective so far, then the result (routes, ETAs,
# unassigned stops). Then ApplyPlan writes it in one transaction; it is refused if a
# stop or vehicle changed since the job read them.
subscription Progress($jobId: ID!) {
  optimizationProgress(jobId: $jobId) {
    type
    job { status progress bestObjective
          result { feasible vehiclesUsed distanceKm unassigned { stopId reason }
                   routes { vehicle { plate } distanceKm etas stops { address timeWindow { start end } } } } }
  }
}

mutation ApplyPlan($jobId: ID!) {
  applyPlan(jobId: $jobId) {
    __typename
    ... on ApplyPlanPayload { routes { number optimized distanceKm durationMin stops { sequence eta } } }
    ... on UserError { message }
  }
}
""",
    '{"jobId": ""}',
))

DEMO_USER_FIELDS = ("email", "password", "role", "account")

PAGE = """<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>Switchboard GraphiQL</title>
    <link rel="icon" href="data:image/svg+xml,<svg xmlns=%22http://www.w3.org/2000/svg%22 viewBox=%220 0 100 100%22>\
<text y=%22.9em%22 font-size=%2280%22>&#x260e;</text></svg>" />
    <link rel="stylesheet" href="{assets}/graphiql.min.css" />
    <link rel="stylesheet" href="{assets}/plugin-explorer.css" />
    <link rel="stylesheet" href="{assets}/switchboard.css" />
  </head>
  <body>
    <header class="sb-session" id="sb-session">
      <strong class="sb-brand">Switchboard</strong>
      <form class="sb-sign-in" id="sb-sign-in" hidden>
        <select id="sb-demo" aria-label="Demo user" hidden><option value="">Demo users&hellip;</option></select>
        <input id="sb-email" type="email" placeholder="Email" autocomplete="username" required />
        <input id="sb-password" type="password" placeholder="Password" autocomplete="current-password" required />
        <button type="submit" id="sb-sign-in-button">Sign in</button>
      </form>
      <div class="sb-signed-in" id="sb-signed-in" hidden>
        <span id="sb-who"></span>
        <button type="button" id="sb-sign-out">Sign out</button>
      </div>
      <span class="sb-error" id="sb-error" role="alert"></span>
    </header>
    <div id="graphiql">Loading&hellip;</div>
    <script id="sb-config" type="application/json">{config}</script>
    <script src="{assets}/react.production.min.js"></script>
    <script src="{assets}/react-dom.production.min.js"></script>
    <script src="{assets}/graphiql.min.js"></script>
    <script src="{assets}/plugin-explorer.umd.js"></script>
    <script src="{assets}/graphql-ws.min.js"></script>
    <script src="{assets}/switchboard.js"></script>
  </body>
</html>
"""


def _script_json(value: object) -> str:
    """JSON that cannot end its <script> element or open a comment, whatever strings it carries."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def graphiql_routes() -> list[BaseRoute]:
    """The page's scripts and style sheets, served from the installed package."""
    return [Mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="graphiql")]


def graphiql_html(demo_users: Sequence[Mapping[str, Any]] | None = None) -> str:
    """The page; `demo_users` (development only, never in production) become a picker that fills the form."""
    config = {
        "tabs": [{"query": e.query, **({"variables": e.variables} if e.variables else {})} for e in EXAMPLES],
        "demoUsers": [{key: str(user.get(key, "")) for key in DEMO_USER_FIELDS} for user in demo_users or []],
    }
    return PAGE.replace("{assets}", ASSETS_PATH).replace("{config}", _script_json(config))

"""The Cypher both backends run: openCypher that FalkorDB (native and Bolt) and Neo4j 5 both accept.

Kept out of it on purpose: EXISTS {} / COUNT {} subqueries, elementId(), datetime() and date() (FalkorDB
lacks them; returning a date over its Bolt crashes the server), and shortestPath (FalkorDB allows it only in
WITH/RETURN). Values always travel as $parameters. Whitespace is collapsed because FalkorDB's Bolt crashes on
a request over ~4 KB, and the query text counts.
"""

from __future__ import annotations

MAX_DEPTH = 6  # referrals depth and introduction hops: bounds a variable-length pattern, so it stays small


def _q(text: str) -> str:
    return " ".join(text.split())


PING = "RETURN 1 AS ok"

# Only a changed company or owner is detached, so re-upserting an unchanged lead writes nothing new.
UPSERT_LEADS = _q("""
UNWIND $rows AS row
MERGE (l:Lead {account_id: $account_id, id: row.id})
WITH l, row
OPTIONAL MATCH (l)-[w:WORKS_AT]->(c:Company)
WHERE row.company IS NULL OR c.name <> row.company
DELETE w
WITH DISTINCT l, row
OPTIONAL MATCH (u:User)-[o:OWNS]->(l)
WHERE row.owner_id IS NULL OR u.id <> row.owner_id
DELETE o
WITH DISTINCT l, row
FOREACH (name IN CASE WHEN row.company IS NULL THEN [] ELSE [row.company] END |
  MERGE (c:Company {account_id: $account_id, name: name})
  MERGE (l)-[:WORKS_AT]->(c))
FOREACH (uid IN CASE WHEN row.owner_id IS NULL THEN [] ELSE [row.owner_id] END |
  MERGE (u:User {account_id: $account_id, id: uid})
  MERGE (u)-[:OWNS]->(l))
""")

DELETE_LEAD = _q("""
MATCH (l:Lead {account_id: $account_id, id: $lead_id})
DETACH DELETE l
""")

# What reconciliation compares with MongoDB: a drifted node may hold several companies or owners.
PROJECTED_LEADS = _q("""
UNWIND $lead_ids AS lead_id
MATCH (l:Lead {account_id: $account_id, id: lead_id})
OPTIONAL MATCH (l)-[:WORKS_AT]->(c:Company)
OPTIONAL MATCH (u:User)-[:OWNS]->(l)
RETURN l.id AS id, collect(DISTINCT c.name) AS companies, collect(DISTINCT u.id) AS owners
""")

# A keyset page: ids compare as strings in both dialects, and MongoDB's ObjectId hex sorts the same way.
LEAD_IDS_PAGE = _q("""
MATCH (l:Lead)
WHERE l.account_id = $account_id AND l.id > $after
RETURN l.id AS id
ORDER BY id
LIMIT $limit
""")

# count(*) after an empty MATCH still yields one row (0), so "missing lead" needs no second query.
LINK_LEADS = _q("""
MATCH (a:Lead {account_id: $account_id, id: $from_id})
MATCH (b:Lead {account_id: $account_id, id: $to_id})
MERGE (a)-[:REFERRED]->(b)
RETURN count(*) AS linked
""")

UNLINK_LEADS = _q("""
MATCH (:Lead {account_id: $account_id, id: $from_id})-[r:REFERRED]->(:Lead {account_id: $account_id, id: $to_id})
DELETE r
RETURN count(*) AS removed
""")

# From the lead, by its index, to who referred it. The WITH keeps FalkorDB's planner from starting at the other
# end: with the referrer's filter in the same MATCH it scanned every lead of the graph for each id (71 ms for a
# page of 20 among 2,000 leads, against 0.4 ms anchored).
REFERRERS = _q("""
UNWIND $lead_ids AS lead_id
MATCH (l:Lead {account_id: $account_id, id: lead_id})
WITH lead_id, l
MATCH (l)<-[:REFERRED]-(r:Lead)
WHERE r.account_id = $account_id
RETURN lead_id, r.id AS id
""")

_REFERRALS = """
UNWIND $lead_ids AS lead_id
MATCH p = (:Lead {account_id: $account_id, id: lead_id})-[:REFERRED*1..%d]->(r:Lead)
WHERE r.account_id = $account_id AND r.id <> lead_id
RETURN lead_id, r.id AS id, min(length(p)) AS hops
"""
# Neither dialect takes a parameter as a path bound; these are code constants, one per allowed depth.
REFERRALS = {depth: _q(_REFERRALS % depth) for depth in range(1, MAX_DEPTH + 1)}

COLLEAGUES = _q("""
UNWIND $lead_ids AS lead_id
MATCH (:Lead {account_id: $account_id, id: lead_id})-[:WORKS_AT]->(:Company)<-[:WORKS_AT]-(o:Lead)
WHERE o.account_id = $account_id AND o.id <> lead_id
RETURN DISTINCT lead_id, o.id AS id
""")

NEIGHBOURS = _q("""
MATCH (:Lead {account_id: $account_id, id: $lead_id})-[r]->(n)
WHERE n.account_id = $account_id
RETURN type(r) AS relation, 'out' AS direction, labels(n)[0] AS label, coalesce(n.id, n.name) AS id
UNION ALL
MATCH (:Lead {account_id: $account_id, id: $lead_id})<-[r]-(n)
WHERE n.account_id = $account_id
RETURN type(r) AS relation, 'in' AS direction, labels(n)[0] AS label, coalesce(n.id, n.name) AS id
""")

LEAD_EXISTS = _q("""
MATCH (l:Lead {account_id: $account_id, id: $lead_id})
RETURN l.id AS id
""")

# One breadth-first level of the introduction graph: leads one step from each given lead, by a referral
# in either direction or by sharing a company.
INTRODUCTION_STEP = _q("""
UNWIND $lead_ids AS lead_id
MATCH (:Lead {account_id: $account_id, id: lead_id})-[:REFERRED]-(n:Lead)
WHERE n.account_id = $account_id AND n.id <> lead_id
RETURN lead_id, n.id AS id, 'REFERRED' AS relation
UNION ALL
UNWIND $lead_ids AS lead_id
MATCH (:Lead {account_id: $account_id, id: lead_id})-[:WORKS_AT]->(:Company)<-[:WORKS_AT]-(n:Lead)
WHERE n.account_id = $account_id AND n.id <> lead_id
RETURN lead_id, n.id AS id, 'COLLEAGUE' AS relation
""")

LINK_CALL = _q("""
MATCH (l:Lead {account_id: $account_id, id: $lead_id})
MERGE (c:Call {account_id: $account_id, id: $call_id})
SET c.state = $state, c.started_at = $started_at, c.outcome = $outcome, c.score = $score
MERGE (l)-[h:HAD_CALL]->(c)
SET h.outcome = $outcome
""")

# the closer a hot lead was transferred to (a user is a node by its PostgreSQL id, as (:User)-[:OWNS] has it)
LINK_CLOSER = _q("""
MATCH (c:Call {account_id: $account_id, id: $call_id})
MERGE (u:User {account_id: $account_id, id: $user_id})
MERGE (c)-[:HANDLED_BY]->(u)
""")

CALLS_OF = _q("""
UNWIND $lead_ids AS lead_id
MATCH (:Lead {account_id: $account_id, id: lead_id})-[:HAD_CALL]->(c:Call)
WHERE c.account_id = $account_id
RETURN lead_id, c.id AS id, c.started_at AS started_at
""")

CLEAR_ACCOUNT = _q("""
MATCH (n)
WHERE n.account_id = $account_id
DETACH DELETE n
""")

"""Shortest introduction chain between two leads, by lead-to-lead steps.

A step is a referral (either direction) or a shared company. shortestPath over REFERRED|WORKS_AT would count
relationships, and a colleague step is two of them (Lead-Company-Lead): it could prefer three referrals over
two colleague steps and then wrongly report nothing within max_hops. So the search is a bidirectional
breadth-first search over whole levels, one query per level, with the same Cypher on every backend.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from datasources.graph.base import IntroductionPath

# Given lead ids, the (lead_id, neighbour_id, relation) rows one step away.
Expand = Callable[[list[str]], Awaitable[Iterable[tuple[str, str, str]]]]

# node -> (the node it was reached from, the relation between them); the search roots map to None
Parents = dict[str, tuple[str, str] | None]


async def shortest_chain(*, start: str, goal: str, max_hops: int, expand: Expand) -> IntroductionPath | None:
    forward: Parents = {start: None}
    backward: Parents = {goal: None}
    frontiers = {True: [start], False: [goal]}
    hops = 0
    while hops < max_hops and frontiers[True] and frontiers[False]:
        # Grow the smaller side: the fewer leads a level starts from, the smaller the query and its answer.
        is_forward = len(frontiers[True]) <= len(frontiers[False])
        parents, others = (forward, backward) if is_forward else (backward, forward)
        reached: list[str] = []
        # Sorted so that among equally short chains the same one is always chosen.
        for src, dst, relation in sorted(await expand(frontiers[is_forward])):
            if dst not in parents:
                parents[dst] = (src, relation)
                reached.append(dst)
        hops += 1
        # Both sides hold every lead within their depth, so the first level that meets gives a shortest chain.
        met = sorted(lead for lead in reached if lead in others)
        if met:
            return _join(met[0], forward, backward)
        frontiers[is_forward] = reached
    return None


def _join(middle: str, forward: Parents, backward: Parents) -> IntroductionPath:
    leads = [middle]
    relations: list[str] = []
    step = forward[middle]
    while step is not None:
        leads.insert(0, step[0])
        relations.insert(0, step[1])
        step = forward[step[0]]
    step = backward[middle]
    while step is not None:
        leads.append(step[0])
        relations.append(step[1])
        step = backward[step[0]]
    return IntroductionPath(lead_ids=leads, relations=relations)

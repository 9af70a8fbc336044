from __future__ import annotations

import re

from datasources.redis.jobs import JobState
from resolvers.context import RequestContext

JOB_ID = re.compile(r"^[0-9a-f]{32}$")


def job_key(job_id: str) -> str | None:
    """The job's key, or None for a string that cannot name a job (it finds nothing, like an unknown id)."""
    return job_id if JOB_ID.match(job_id) else None


async def job(ctx: RequestContext, *, id: str) -> JobState | None:
    key = job_key(id)
    if ctx.planner is None or key is None:
        return None
    return await ctx.planner.job(account_id=ctx.account_id, job_id=key)

"""Fleet queries compiled into one PostgreSQL statement (plan.py plans, run.py answers); anything else runs
through the interpreted path, which stays the reference."""

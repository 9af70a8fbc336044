"""Live calls in Redis: per-call state applied atomically, per-call and per-account event streams."""

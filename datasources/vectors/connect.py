"""Opening Chroma by CHROMA_URL: the async HTTP client for a server, or the embedded PersistentClient."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from datasources.vectors.chroma import VectorStore
from datasources.vectors.embedder import Embedder


@dataclass
class Connection:
    """An open client and how to close it: the seam where tests or ops may inject their own."""

    client: Any  # chromadb's AsyncClientAPI, or ThreadedClient over its sync ClientAPI
    close: Callable[[], Awaitable[None]]


def open_vectors(url: str, *, path: Path, embedder: Embedder) -> VectorStore:
    """CHROMA_URL: empty for the embedded store under `path`, else a Chroma server's http(s) URL.

    Nothing connects until the first call.
    """
    if not url:
        return VectorStore(connect=partial(_connect_persistent, path), embedder=embedder)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        scheme = parts.scheme or url
        raise ValueError(
            f"CHROMA_URL: unsupported scheme {scheme!r} (use http://, https:// or leave empty for the embedded store)"
        )
    ssl = parts.scheme == "https"
    port = parts.port or (443 if ssl else 8000)
    return VectorStore(connect=partial(_connect_http, parts.hostname, port, ssl), embedder=embedder)


def _settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


async def _connect_persistent(path: Path) -> Connection:
    import chromadb

    from datasources.vectors.threaded import ThreadedClient

    def create() -> Any:
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=_settings())

    client = ThreadedClient(await asyncio.to_thread(create))
    return Connection(client, client.close)


async def _connect_http(host: str, port: int, ssl: bool) -> Connection:
    import chromadb

    client = await chromadb.AsyncHttpClient(host=host, port=port, ssl=ssl, settings=_settings())

    async def close() -> None:
        # AsyncClient has no close(); its server API's async context exit closes the httpx clients, which
        # chromadb keeps in a class-level dict per event loop (one is re-made lazily if another store needs it)
        await client._server.__aexit__(None, None, None)  # type: ignore[attr-defined]

    return Connection(client, close)

"""Persisted queries (Apollo's APQ protocol, kept in Redis) and trusted documents (a manifest of hash -> text).

A request names its document by `extensions.persistedQuery.sha256Hash`, by its text, or both. `resolve` turns
that into the text to run, before Strawberry parses it: the parse and validation caches key on the text, so a
document sent by hash is neither parsed nor validated again once the caches hold it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from graphql import GraphQLError, GraphQLSchema, parse, validate
from redis.exceptions import RedisError

from datasources.redis.documents import store_document, stored_document
from ops.settings import Settings

log = logging.getLogger(__name__)

APQ_VERSION = 1
SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Refusal:
    """Why a request's document will not run; `status` forces the HTTP status (None: the usual for an error)."""

    message: str
    code: str
    status: int | None = None

    def error(self) -> GraphQLError:
        return GraphQLError(self.message, extensions={"code": self.code})


# 200, not 400: Apollo's and urql's APQ links answer it by sending the hash again with the text
NOT_FOUND = Refusal("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", 200)
MISMATCH = Refusal("provided sha does not match query", "BAD_USER_INPUT", 400)
BAD_EXTENSION = Refusal(
    f"extensions.persistedQuery must be {{\"version\": {APQ_VERSION}, \"sha256Hash\": \"<64 hex digits>\"}}",
    "BAD_USER_INPUT", 400,
)
NOT_TRUSTED = Refusal(
    "this server runs only trusted documents (TRUSTED_DOCUMENTS_ONLY) and this one is not in its manifest: "
    "add it with `switchboard documents add FILE` and deploy the manifest", "DOCUMENT_NOT_TRUSTED",
)


def sha256_hex(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def requested_hash(extensions: object) -> str | Refusal | None:
    """The hash in `extensions.persistedQuery`, None when there is none, a Refusal when it is malformed."""
    if not isinstance(extensions, dict) or extensions.get("persistedQuery") is None:
        return None
    persisted = extensions["persistedQuery"]
    if not isinstance(persisted, dict) or persisted.get("version") != APQ_VERSION:
        return BAD_EXTENSION
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or not SHA256_HEX.match(sha.lower()):
        return BAD_EXTENSION
    return sha.lower()


def parse_manifest(text: str, source: str) -> dict[str, str]:
    """A manifest's entries; each key must be the sha256 of its document, so a document's text finds it."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{source}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{source}: must be a JSON object of sha256 hash -> document text")
    for key, document in data.items():
        if not isinstance(document, str):
            raise ValueError(f"{source}: the entry {key!r} is not a document text")
        if key != sha256_hex(document):
            raise ValueError(f"{source}: the entry {key!r} is not the sha256 of its document")
    return data


def load_manifest(path: Path, source: str = "TRUSTED_DOCUMENTS") -> dict[str, str]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise ValueError(f"{source}: cannot read the manifest {str(path)!r} ({exc.strerror or exc})") from None
    return parse_manifest(text, f"{source} ({path})")


def _registrable(schema: GraphQLSchema, document: str) -> bool:
    """Only a valid document is kept (as Apollo Server does); an invalid one runs and fails as usual."""
    try:
        return not validate(schema, parse(document))
    except GraphQLError:
        return False


@dataclass(frozen=True)
class Documents:
    schema: GraphQLSchema
    manifest: dict[str, str] = field(default_factory=dict)
    trusted_only: bool = False
    ttl: timedelta = timedelta(days=7)

    @classmethod
    def from_settings(cls, settings: Settings, schema: GraphQLSchema) -> Documents:
        """Reads the manifest once; TRUSTED_DOCUMENTS_ONLY without a readable manifest stops the start-up."""
        path = settings.trusted_documents
        if settings.trusted_documents_only and path is None:
            raise ValueError("TRUSTED_DOCUMENTS_ONLY=true needs TRUSTED_DOCUMENTS: the path of the manifest")
        manifest: dict[str, str] = {}
        if path is not None and (settings.trusted_documents_only or path.exists()):
            manifest = load_manifest(path)
        elif path is not None:
            log.warning("TRUSTED_DOCUMENTS: no manifest at %s yet; only persisted queries resolve by hash", path)
        return cls(schema, manifest, settings.trusted_documents_only, settings.persisted_query_ttl)

    async def resolve(
        self, redis: Any, query: str | None, extensions: object, *, may_register: bool = True
    ) -> str | Refusal | None:
        """The text to run (None: the request has none), or why it is refused.

        `may_register` false (anonymous callers) runs a new APQ document without keeping it.
        """
        sha = requested_hash(extensions)
        if isinstance(sha, Refusal):
            return sha
        if sha is None:
            if query is None or not self.trusted_only or sha256_hex(query) in self.manifest:
                return query
            return NOT_TRUSTED
        if query is None:
            known = self.manifest.get(sha)
            if known is None and not self.trusted_only:
                known = await self._stored(redis, sha)
            return known if known is not None else (NOT_TRUSTED if self.trusted_only else NOT_FOUND)
        if sha256_hex(query) != sha:
            return MISMATCH
        if sha in self.manifest:
            return query
        if self.trusted_only:
            return NOT_TRUSTED
        if may_register and _registrable(self.schema, query):
            await self._store(redis, sha, query)
        return query

    async def _stored(self, redis: Any, sha: str) -> str | None:
        try:
            return await stored_document(redis, sha256=sha)
        except RedisError:
            # a cache: without it the client sends the text again, and that still runs
            log.warning("persisted query lookup failed; answering PersistedQueryNotFound", exc_info=True)
            return None

    async def _store(self, redis: Any, sha: str, query: str) -> None:
        try:
            await store_document(redis, sha256=sha, document=query, ttl=self.ttl)
        except RedisError:
            log.warning("persisted query not kept: Redis did not answer", exc_info=True)


async def resolve_payload(documents: Documents, redis: Any, payload: object) -> Refusal | None:
    """A socket operation's `subscribe`/`start` payload, resolved as over HTTP: its `query` becomes the text."""
    if not isinstance(payload, dict):
        return None
    resolved = await documents.resolve(redis, payload.get("query"), payload.get("extensions"))
    if isinstance(resolved, Refusal):
        return resolved
    if resolved is not None:
        payload["query"] = resolved
    return None

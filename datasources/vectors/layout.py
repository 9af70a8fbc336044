"""Where vectors live: one Chroma collection per account and kind (`leads_42`, `conversations_42`).

Tenancy is structural: a query names the caller's own collection, so no filter can forget the account, and
HNSW searches only that account's vectors (a shared collection filtered by `account_id` scanned them all:
54 ms p50 at 20,000 vectors against 1.2 ms unfiltered). Pure names, no I/O.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    LEADS = "leads"
    CONVERSATIONS = "conversations"


MIGRATIONS = "switchboard_migrations"  # holds no vectors: its metadata records the applied version
COSINE: dict[str, Any] = {"hnsw": {"space": "cosine"}}
_ACCOUNT_COLLECTION = re.compile(r"^(leads|conversations)_([1-9][0-9]*)$")


def collection_name(kind: Kind, account_id: int) -> str:
    if account_id <= 0:
        raise ValueError(f"account_id: must be positive, got {account_id}")
    return f"{kind.value}_{account_id}"


def account_of(name: str) -> tuple[Kind, int] | None:
    """The kind and account of an account collection's name; None for any other collection."""
    found = _ACCOUNT_COLLECTION.match(name)
    return (Kind(found[1]), int(found[2])) if found else None

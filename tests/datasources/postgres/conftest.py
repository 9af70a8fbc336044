"""The adapters' own database, migrated to head (the app's is the suite's, and its first account its owner's)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from datasources.postgres import Database, open_database
from ops import migrate
from tests.servers import postgres_database


@pytest.fixture(scope="session")
def adapter_database(postgres_admin: str) -> Iterator[str]:
    """A database of its own: the app's development principal is the first account of the app's database."""
    with postgres_database(postgres_admin) as url:
        yield url


@pytest.fixture(scope="session")
async def db(adapter_database: str) -> AsyncIterator[Database]:
    database = open_database(adapter_database)
    await migrate.upgrade(database.engine)
    yield database
    await database.close()

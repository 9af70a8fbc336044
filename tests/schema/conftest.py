from __future__ import annotations

import pytest

from tests.client import GraphQL


@pytest.fixture(scope="session")
def gql(app_gql: GraphQL) -> GraphQL:
    return app_gql

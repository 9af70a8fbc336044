"""The GraphQL Role enum keeps its SDL names (OWNER, ...) for clients; it must name exactly the roles the server
enforces (resolvers.principal.Role), value for value."""

from resolvers.principal import Role
from schema.accounts.types import Role as GraphQLRole


def test_the_graphql_role_enum_matches_the_enforced_roles() -> None:
    assert {r.value for r in GraphQLRole} == {r.value for r in Role}
    assert all(GraphQLRole[r.name.upper()].value == r.value for r in Role)

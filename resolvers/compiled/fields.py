"""Where each compiled GraphQL field's value lives in PostgreSQL, and how a JSON value becomes what Strawberry
would have sent for it.

A scalar field reads the column named as the field in snake_case unless `COLUMNS` says otherwise; its conversion
follows its GraphQL type (`convert`). tests/resolvers/test_compiled_plan.py fails when a field of these types is
neither compiled nor listed in `NOT_COMPILED`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any

from graphql import GraphQLEnumType, GraphQLList, GraphQLNonNull, GraphQLOutputType, GraphQLScalarType

from resolvers.ids import encode

# GraphQL type -> table of its rows
TABLES = {"Route": "routes", "Stop": "stops", "Vehicle": "vehicles", "User": "users", "Account": "accounts"}
# (type, field) -> column, where it is not the field's name in snake_case
COLUMNS = {("Stop", "serviceMinutes"): "service_min"}
# (type, field) -> the relation (datasources/postgres/compiled.py RELATIONS) and the type it reaches
RELATIONS = {
    ("Route", "driver"): "driver",
    ("Route", "vehicle"): "vehicle",
    ("Route", "stops"): "stops",
    ("Stop", "route"): "route",
}
# (type, field) -> the two columns of an object embedded in the row (Location, TimeWindow), and whether it is
# null when either is (a vehicle's depot) or always there (a stop's location and window)
EMBEDDED: dict[tuple[str, str], tuple[str, str, bool]] = {
    ("Stop", "location"): ("latitude", "longitude", False),
    ("Stop", "timeWindow"): ("window_start", "window_end", False),
    ("Vehicle", "depot"): ("depot_latitude", "depot_longitude", True),
    ("Vehicle", "endLocation"): ("end_latitude", "end_longitude", True),
}
# the embedded types' fields: which of the two columns each reads
EMBEDDED_FIELDS = {"Location": {"latitude": 0, "longitude": 1}, "TimeWindow": {"start": 0, "end": 1}}
# Stop.lead crosses into MongoDB: the stops' leads are read after the statement, in one read of the fields the
# operation selects (`loaders.lead_view`, resolvers/leads/reads.py), and shaped from their records. Of Lead, its
# scalars and the objects its record holds (below: field -> type); its edges to other stores are not compiled
LEAD_OBJECTS = {"company": "Company", "consent": "Consent", "qualification": "Qualification", "notes": "Note",
                "answers": "Answer"}
NOT_COMPILED = {("Lead", n) for n in ("owner", "account", "referredBy", "referrals", "colleagues", "similar",
                                      "liveCall", "calls", "stops")}
# (type, field) of those objects -> the record's attribute, where it is not the field's name in snake_case
ATTRIBUTES = {("Qualification", "class"): "cls", ("Answer", "question"): "0", ("Answer", "answer"): "1"}
# ids sent as they are stored (a note's), or as another type's global id (the call that qualified the lead)
RAW_IDS = {("Note", "id")}
FOREIGN_IDS = {("Qualification", "callId"): "Call"}

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def column_of(type_name: str, field: str) -> str:
    return COLUMNS.get((type_name, field)) or _CAMEL.sub("_", field).lower()


class Unconvertible(ValueError):
    """A stored value Strawberry would not have sent as it is (the interpreted path reports it)."""


def _float(value: Any) -> float:
    found = float(value)
    if not math.isfinite(found):
        raise Unconvertible(f"{value!r} is not a finite float")
    return found


def _datetime(value: Any) -> str:
    # PostgreSQL gives UTC without an offset and trims the fraction; asyncpg's datetimes are UTC
    return datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat()


def _time(value: Any) -> str:
    return time.fromisoformat(value).isoformat()


def _same(value: Any) -> Any:
    return value


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Unconvertible(f"{value!r} is not an int")
    return value


SCALARS: dict[str, Callable[[Any], Any]] = {
    "String": _same, "Boolean": _same, "Date": _same, "Int": _int, "Float": _float, "DateTime": _datetime,
    "Time": _time,
}


def convert_value(type_name: str, field: str, graphql_type: GraphQLOutputType) -> Callable[[Any], Any]:
    """A Python value of a record (a lead's) -> the field's value in the response, as Strawberry sends it."""
    named = graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type
    if isinstance(named, GraphQLList):
        inner = convert_value(type_name, field, named.of_type)
        return lambda values: [inner(v) for v in values]
    if isinstance(named, GraphQLScalarType) and named.name == "DateTime":
        return lambda value: value.isoformat()
    return convert(type_name, field, graphql_type)


def convert(type_name: str, field: str, graphql_type: GraphQLOutputType) -> Callable[[Any], Any]:
    """JSON value of the column (not null) -> the field's value in the response."""
    named = graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type
    if isinstance(named, GraphQLEnumType):
        names = {v.value: name for name, v in named.values.items()}

        def enum(value: Any) -> str:
            try:
                return names[value]
            except KeyError:
                raise Unconvertible(f"{value!r} is no {named.name}") from None

        return enum
    if isinstance(named, GraphQLScalarType):
        if named.name == "ID" and field == "id":
            return lambda value: encode(type_name, value)
        if named.name in SCALARS:
            return SCALARS[named.name]
    raise Unconvertible(f"{type_name}.{field} of type {graphql_type} is not compiled")

"""Planning a compiled fleet query: a document, the schema and the variables in; what to read in one statement
and how to shape its answer out, or None when any part of the operation is outside the compiled subset.

The subset: a query whose root fields are `route(id:)`, `routes(...)`, `vehicles(...)`, `account` and `__typename`,
selecting fields of Route, Stop, Vehicle, User, Account, Location, TimeWindow and the two connections (edges and page
info), with aliases, `__typename`, `@skip`/`@include`, variables, and inline fragments and fragment spreads on the
exact type. The arguments are checked by the resolvers' own functions (ids, page size, cursors): any InputError
leaves the operation to the interpreted path, which reports it. A plan names the actions its root fields need
(`actions`); one of `__typename` alone reads nothing. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    OperationType,
    SelectionSetNode,
    get_operation_ast,
)
from graphql.execution.values import VariableValues, get_argument_values, get_directive_values, get_variable_values

from datasources.postgres.compiled import TABLES, AccountRow, Obj, Page, Rel, Root, RouteById
from resolvers.compiled import fields as F
from resolvers.compiled import shape as S
from resolvers.compiled.shape import PagePart, Row, Shape
from resolvers.ids import decode_int, encode
from resolvers.leads.projector import sync_state
from resolvers.leads.reads import READS
from resolvers.pagination import check_first, decode_cursor
from resolvers.permissions import Action

DIRECTIVES = {GraphQLSkipDirective.name, GraphQLIncludeDirective.name}
PAGES = {"routes": "Route", "vehicles": "Vehicle"}  # root connections -> the type of their nodes
# root fields -> what the caller must be allowed (as their resolvers' `can(...)` says)
ACTIONS = {"route": Action.read_fleet, "routes": Action.read_fleet, "vehicles": Action.read_fleet,
           "account": Action.read_users}


class Unsupported(Exception):
    """Outside the compiled subset: the interpreted path answers."""


@dataclass(frozen=True)
class Plan:
    roots: tuple[Root, ...]  # none: nothing to read (`__typename` alone)
    params: dict[str, Any]
    shape: Callable[[list[Any]], dict[str, Any]]  # the statement's array of root values -> the data
    actions: frozenset[Action]  # what the caller must be allowed
    lead_fields: frozenset[str] | None = None  # what to read of the stops' leads (Stop.lead), if selected


def plan(
    schema: GraphQLSchema, document: DocumentNode, *, operation_name: str | None, variables: Mapping[str, Any] | None,
    max_page_size: int,
) -> Plan | None:
    try:
        return _Planner(schema, document, operation_name, variables, max_page_size).plan()
    except Exception:  # Unsupported, an InputError, a value no resolver would take: the interpreted path answers
        return None


class _Planner:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None,
                 variables: Mapping[str, Any] | None, max_page_size: int) -> None:
        operation = get_operation_ast(document, operation_name)
        if operation is None or operation.operation is not OperationType.QUERY:
            raise Unsupported("not a query")
        coerced = get_variable_values(schema, operation.variable_definitions or (), dict(variables or {}))
        if not isinstance(coerced, VariableValues):
            raise Unsupported("variables the executor refuses")
        self.schema = schema
        self.operation = operation
        self.variables = coerced
        self.fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        self.max_page_size = max_page_size
        self.roots: list[Root] = []
        self.params: dict[str, Any] = {}
        self.actions: set[Action] = set()
        self.lead_fields: frozenset[str] | None = None

    # -- selections -----------------------------------------------------------------------------------------

    def _included(self, node: FieldNode | InlineFragmentNode | FragmentSpreadNode) -> bool:
        for directive in node.directives or ():
            if directive.name.value not in DIRECTIVES:
                raise Unsupported(f"@{directive.name.value}")
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip is not None and skip["if"] is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include is not None and include["if"] is False)

    def collect(self, type_name: str, nodes: list[FieldNode] | list[SelectionSetNode]) -> dict[str, list[FieldNode]]:
        """The fields selected on an object of `type_name` by the selection sets (of `nodes`), by response key in
        first-seen order, as the executor collects them."""
        found: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()

        def walk(selection_set: SelectionSetNode | None) -> None:
            for selection in selection_set.selections if selection_set else ():
                if not self._included(selection):  # type: ignore[arg-type]
                    continue
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    found.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    if selection.type_condition and selection.type_condition.name.value != type_name:
                        raise Unsupported("a fragment on another type")
                    walk(selection.selection_set)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    if name in visited:
                        continue
                    visited.add(name)
                    fragment = self.fragments.get(name)
                    if fragment is None or fragment.type_condition.name.value != type_name:
                        raise Unsupported("a fragment on another type")
                    walk(fragment.selection_set)
                else:
                    raise Unsupported(type(selection).__name__)

        for node in nodes:
            walk(node.selection_set if isinstance(node, FieldNode) else node)
        return found

    def _object_type(self, name: str) -> GraphQLObjectType:
        found = self.schema.get_type(name)
        assert isinstance(found, GraphQLObjectType)
        return found

    def selected(self, type_name: str, nodes: list[FieldNode], fields: list[tuple[str, Shape]]
                 ) -> Iterator[tuple[str, str, list[FieldNode], GraphQLField]]:
        """The fields selected on an object of `type_name` (`collect`), each with its definition, as (response key,
        field name, its nodes, the field). `__typename` is not given out: it goes into `fields` as the constant it
        is, in its place among the others. A field the type lacks is Unsupported."""
        graphql_type = self._object_type(type_name)
        for key, found in self.collect(type_name, nodes).items():
            name = found[0].name.value
            if name == "__typename":
                fields.append((key, S.constant(type_name)))
                continue
            field = graphql_type.fields.get(name)
            if field is None:
                raise Unsupported(f"{type_name}.{name}")
            yield key, name, found, field

    # -- the operation ----------------------------------------------------------------------------------------

    def plan(self) -> Plan:
        query = self.schema.query_type
        assert query is not None
        shapes: list[tuple[str, Shape]] = []
        for key, nodes in self.collect(query.name, [self.operation.selection_set]).items():
            name = nodes[0].name.value
            if name == "__typename":
                shapes.append((key, S.constant(query.name)))
                continue
            field = query.fields.get(name)
            if field is None or name not in ACTIONS:
                raise Unsupported(f"Query.{name}")
            args = get_argument_values(field, nodes[0], self.variables)
            index = len(self.roots)
            self.actions.add(ACTIONS[name])
            if name == "route":
                shape = self._route(index, args, nodes)
            elif name == "account":
                shape = self._account(nodes)
            else:
                shape = self._page(index, name, args, nodes)
            shapes.append((key, S.at(index, shape)))
        built = S.obj(shapes)
        return Plan(tuple(self.roots), self.params, built, frozenset(self.actions), self.lead_fields)

    def _route(self, index: int, args: dict[str, Any], nodes: list[FieldNode]) -> Shape:
        self.params[f"id_{index}"] = decode_int(args["id"], "Route")
        obj, shape = self.object("Route", nodes)
        self.roots.append(RouteById(obj))
        return S.nullable(shape)

    def _account(self, nodes: list[FieldNode]) -> Shape:
        obj, shape = self.object("Account", nodes)
        self.roots.append(AccountRow(obj))
        return S.nullable(shape)

    def _page(self, index: int, field: str, args: dict[str, Any], nodes: list[FieldNode]) -> Shape:
        # as resolvers/fleet/routes.py and vehicles.py: the same checks, in the same order
        node_type = PAGES[field]
        limit = check_first(args["first"], self.max_page_size)
        after = args.get("after")
        after_id = int(decode_cursor(after, arity=1)[0]) if after else None
        driver_id = args.get("driverId")
        driver = decode_int(driver_id, "User", field="driverId") if driver_id else None
        status, on = args.get("status"), args.get("date")
        status = status.value if isinstance(status, Enum) else status  # a literal comes as the enum, a variable not
        if not isinstance(status, str | None) or not isinstance(on, date | None):
            raise Unsupported("an argument of an unexpected type")
        bound = {"limit": limit + 1, "after": after_id, "status": status, "on": on, "driver": driver}
        self.params.update((f"{k}_{index}", v) for k, v in bound.items() if v is not None)

        objs: list[Obj] = []
        parts: list[tuple[str, PagePart]] = []
        connection = f"{node_type}Connection"
        for key, found in self.collect(connection, nodes).items():
            name = found[0].name.value
            if name == "__typename":
                parts.append((key, S.page_constant(connection)))
            elif name == "edges":
                parts.append((key, self._edges(node_type, found, objs)))
            elif name == "pageInfo":
                parts.append((key, self._page_info(found)))
            else:
                raise Unsupported(f"{connection}.{name}")
        self.roots.append(Page(F.TABLES[node_type], tuple(objs), after=after_id is not None,
                               status=status is not None, on=on is not None, driver=driver is not None))
        has_previous = after is not None

        def shape(rows: list[Row] | None) -> dict[str, Any]:
            shown = (rows or [])[:limit]
            more = rows is not None and len(rows) > limit
            return {key: part(shown, more, has_previous) for key, part in parts}

        return shape

    def _edges(self, node_type: str, nodes: list[FieldNode], objs: list[Obj]) -> PagePart:
        fields: list[tuple[str, Shape]] = []
        edge_type = f"{node_type}Edge"
        for key, found in self.collect(edge_type, nodes).items():
            name = found[0].name.value
            if name == "__typename":
                fields.append((key, S.constant(edge_type)))
            elif name == "cursor":
                fields.append((key, S.cursor))
            elif name == "node":
                obj, shape = self.object(node_type, found)
                objs.append(obj)
                fields.append((key, S.value(len(objs), shape, nullable=False)))
            else:
                raise Unsupported(f"{edge_type}.{name}")
        edge = S.obj(fields)
        return lambda shown, more, has_previous: [edge(row) for row in shown]

    def _page_info(self, nodes: list[FieldNode]) -> PagePart:
        parts: list[tuple[str, PagePart]] = []
        for key, found in self.collect("PageInfo", nodes).items():
            name = found[0].name.value
            if name not in S.PAGE_INFO:
                raise Unsupported(f"PageInfo.{name}")
            parts.append((key, S.PAGE_INFO[name]))
        return lambda shown, more, has_previous: {key: part(shown, more, has_previous) for key, part in parts}

    # -- objects ----------------------------------------------------------------------------------------------

    def object(self, type_name: str, nodes: list[FieldNode]) -> tuple[Obj, Shape]:
        """What to read of a row of `type_name` for these field nodes' selections, and how to shape it."""
        table = F.TABLES.get(type_name)
        if table is None:
            raise Unsupported(type_name)
        items: list[str | Rel] = []
        columns: dict[str, int] = {}

        def column(name: str) -> int:
            if name not in TABLES[table].c:
                raise Unsupported(f"{table}.{name}")
            if name not in columns:
                columns[name] = len(items)
                items.append(name)
            return columns[name]

        fields: list[tuple[str, Shape]] = []
        for key, name, found, field in self.selected(type_name, nodes, fields):
            if (type_name, name) in F.NOT_COMPILED:
                raise Unsupported(f"{type_name}.{name}")
            nullable = not isinstance(field.type, GraphQLNonNull)
            if (type_name, name) == ("Stop", "lead"):
                fields.append((key, S.lead(column("lead_id"), self._lead(found))))
            elif (type_name, name) in F.RELATIONS:
                target, many = _named(field.type)
                obj, shape = self.object(target, found)
                items.append(Rel(F.RELATIONS[(type_name, name)], obj))
                fields.append((key, S.value(len(items) - 1, S.many(shape) if many else shape, nullable=nullable)))
            elif (type_name, name) in F.EMBEDDED:
                first, second, empty_when_null = F.EMBEDDED[(type_name, name)]
                at = (column(first), column(second))
                target, _ = _named(field.type)
                fields.append((key, self._embedded(target, found, at, empty_when_null)))
            else:
                convert = F.convert(type_name, name, field.type)
                fields.append((key, S.value(column(F.column_of(type_name, name)), convert, nullable=nullable)))
        return Obj(table, tuple(items)), S.obj(fields)

    def _lead(self, nodes: list[FieldNode]) -> Shape:
        """A stop's lead, shaped from its record (`LeadRecord`); what it reads joins `lead_fields`."""
        fields: list[tuple[str, Shape]] = []
        reads: set[str] = set()
        for key, name, found, field in self.selected("Lead", nodes, fields):
            if ("Lead", name) in F.NOT_COMPILED or name not in READS:
                raise Unsupported(f"Lead.{name}")
            reads.update(READS[name])
            nullable = not isinstance(field.type, GraphQLNonNull)
            if name in F.LEAD_OBJECTS:
                inner = self._record_object(F.LEAD_OBJECTS[name], found)
                many = name == "notes"
                fields.append((key, S.attribute(name, _each(inner, list) if many else inner, nullable=nullable)))
            elif name == "syncState":
                fields.append((key, _sync_state(F.convert_value("Lead", name, field.type))))
            else:
                convert = F.convert_value("Lead", name, field.type)
                fields.append((key, S.attribute(F.column_of("Lead", name), convert, nullable=nullable)))
        self.lead_fields = frozenset(reads).union(self.lead_fields or ())
        return S.obj(fields)

    def _record_object(self, type_name: str, nodes: list[FieldNode]) -> Shape:
        """An object embedded in a record (a lead's company, consent, qualification, a note, an answer): its fields
        by attribute (an answer is a (question, answer) pair)."""
        fields: list[tuple[str, Shape]] = []
        for key, name, found, field in self.selected(type_name, nodes, fields):
            nullable = not isinstance(field.type, GraphQLNonNull)
            attribute = F.ATTRIBUTES.get((type_name, name)) or F.column_of(type_name, name)
            target = _unwrapped(field.type)
            if isinstance(target, GraphQLObjectType):
                if name not in F.LEAD_OBJECTS or F.LEAD_OBJECTS[name] != target.name:
                    raise Unsupported(f"{type_name}.{name}")
                inner = self._record_object(target.name, found)
                items = (lambda d: list(d.items())) if (type_name, name) == ("Qualification", "answers") else list
                fields.append((key, S.attribute(attribute, _each(inner, items), nullable=nullable)))
                continue
            if (type_name, name) in F.RAW_IDS:
                convert: Shape = str
            elif (type_name, name) in F.FOREIGN_IDS:
                convert = _foreign_id(F.FOREIGN_IDS[(type_name, name)])
            else:
                convert = F.convert_value(type_name, name, field.type)
            if attribute.isdigit():
                fields.append((key, _item(int(attribute), convert)))
            else:
                fields.append((key, S.attribute(attribute, convert, nullable=nullable)))
        return S.obj(fields)

    def _embedded(self, type_name: str, nodes: list[FieldNode], at: tuple[int, int], empty_when_null: bool) -> Shape:
        """Location and TimeWindow: objects made of two columns of their parent's row."""
        fields: list[tuple[str, Shape]] = []
        for key, name, _, field in self.selected(type_name, nodes, fields):
            which = F.EMBEDDED_FIELDS.get(type_name, {}).get(name)
            if which is None:
                raise Unsupported(f"{type_name}.{name}")
            convert = F.convert(type_name, name, field.type)
            fields.append((key, S.value(at[which], convert, nullable=not isinstance(field.type, GraphQLNonNull))))
        shape = S.obj(fields)
        if not empty_when_null:
            return shape
        first, second = at
        return lambda row: None if row[first] is None or row[second] is None else shape(row)


def _foreign_id(type_name: str) -> Shape:
    return lambda value: encode(type_name, value) if value else None  # as the Strawberry type: "" is no id


def _each(shape: Shape, items: Callable[[Any], list[Any]]) -> Shape:
    return lambda values: [shape(v) for v in items(values)]


def _item(index: int, convert: Shape) -> Shape:
    return lambda pair: convert(pair[index])


def _sync_state(convert: Shape) -> Shape:
    return lambda record: convert(sync_state(pending=record.sync_pending, failed=record.sync_failed).value)


def _unwrapped(graphql_type: Any) -> Any:
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        graphql_type = graphql_type.of_type
    return graphql_type


def _named(graphql_type: Any) -> tuple[str, bool]:
    """The object type a field returns, and whether it is a list of them."""
    many = False
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        many = many or isinstance(graphql_type, GraphQLList)
        graphql_type = graphql_type.of_type
    return graphql_type.name, many

"""`switchboard documents add`: check .graphql files against the schema and merge them into the trusted manifest."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from graphql import GraphQLError, GraphQLSchema, parse, print_ast, separate_operations, validate

from ops.documents import load_manifest, sha256_hex
from ops.settings import Settings

app = typer.Typer(
    help="Trusted documents: the manifest (sha256 -> document) that TRUSTED_DOCUMENTS_ONLY lets run.",
    no_args_is_help=True,
)


def _describe(error: GraphQLError) -> str:
    where = ", ".join(f"line {loc.line} column {loc.column}" for loc in error.locations or ())
    return f"{error.message} ({where})" if where else error.message


def operation_documents(source: str, schema: GraphQLSchema) -> list[tuple[str, str]]:
    """(operation name, its document) for each operation in `source`; each document holds the operation and the
    fragments it uses, printed the way graphql-js `print` does (as Apollo Client and GraphQL Code Generator send
    it). Raises ValueError with the syntax or validation errors."""
    try:
        document = parse(source)
    except GraphQLError as exc:
        raise ValueError(f"syntax error: {_describe(exc)}") from None
    errors = validate(schema, document)
    if errors:
        raise ValueError("invalid against the schema: " + "; ".join(_describe(e) for e in errors))
    operations = separate_operations(document)
    if not operations:
        raise ValueError("no operation (a file of fragments alone cannot run)")
    return [(name or "(anonymous)", print_ast(part)) for name, part in operations.items()]


def _write(path: Path, manifest: dict[str, str]) -> None:
    """Whole or not at all: a server starting meanwhile reads the old manifest or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    os.replace(partial, path)


@app.command()
def add(
    files: Annotated[list[Path], typer.Argument(help="GraphQL files (.graphql), one or more operations each.")],
    manifest: Annotated[Path | None, typer.Option(
        "--manifest", help="The manifest to write (default: TRUSTED_DOCUMENTS).",
    )] = None,
) -> None:
    """Check each file against the schema and add its operations to the manifest; refuse all if one fails."""
    from schema.root import build_schema

    path = manifest or Settings().trusted_documents
    if path is None:
        raise typer.BadParameter("give --manifest, or set TRUSTED_DOCUMENTS to the manifest's path")
    try:
        entries = load_manifest(path, "--manifest" if manifest else "TRUSTED_DOCUMENTS") if path.exists() else {}
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    schema = build_schema()._schema
    added: list[tuple[str, str, Path]] = []
    problems: list[str] = []
    for file in files:
        try:
            documents = operation_documents(file.read_text(), schema)
        except OSError as exc:
            problems.append(f"{file}: cannot read it ({exc.strerror or exc})")
            continue
        except ValueError as exc:
            problems.append(f"{file}: {exc}")
            continue
        added += [(sha256_hex(text), name, file) for name, text in documents]
        entries.update((sha256_hex(text), text) for _, text in documents)
    if problems:
        for problem in problems:
            typer.echo(f"error: {problem}", err=True)
        typer.echo(f"the manifest {path} is unchanged", err=True)
        raise typer.Exit(2)
    _write(path, entries)
    for sha, name, file in added:
        typer.echo(f"{sha}  {name}  ({file})")
    typer.echo(f"{path}: {len(entries)} documents")

from pathlib import Path

from schema.root import build_schema

SDL = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


def test_checked_in_schema_matches_the_code() -> None:
    current = build_schema().as_str() + "\n"
    stale = "schema/schema.graphql is stale: run `switchboard export-schema -o schema/schema.graphql`"
    assert SDL.read_text() == current, stale

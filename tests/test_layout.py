"""Data flows one way: nothing below imports from above it."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["ops", "schema", "resolvers", "voice", "fleet", "datasources"]
ALLOWED = {
    "datasources": {"datasources"},
    "voice": {"voice", "datasources"},
    "fleet": {"fleet", "datasources"},
    "resolvers": {"resolvers", "datasources"},
    "schema": {"schema", "resolvers", "datasources"},
    "ops": set(LAYERS),
}


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(LAYERS)


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_what_it_may(layer: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(bad)
        for path in (ROOT / layer).rglob("*.py")
        if (bad := imports(path) - ALLOWED[layer])
    }
    assert offenders == {}

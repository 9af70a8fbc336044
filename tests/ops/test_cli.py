from __future__ import annotations

import subprocess
import sys

import pytest

from schema.root import build_schema

COMMANDS = ["serve", "migrate", "seed", "check", "export-schema", "simulate", "simulate webhook", "simulate call"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ops.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = run(*command.split(), "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_export_schema_prints_the_sdl() -> None:
    result = run("export-schema")
    assert result.returncode == 0
    assert result.stdout == build_schema().as_str() + "\n"


def test_unknown_store_scheme_names_the_setting() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ops.cli", "check"],
        capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "POSTGRES_URL": "mysql://x/y", "MONGODB_URI": "mongodb://127.0.0.1:1",
             "NEO4J_URI": "bolt://127.0.0.1:1", "REDIS_URL": "redis://127.0.0.1:1", "CHROMA_URL": "http://127.0.0.1:1"},
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: POSTGRES_URL: unsupported scheme 'mysql' (use postgresql:// or postgresql+asyncpg://)"

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import httpx
import pytest

from schema.root import build_schema
from tests.client import sign_in
from tests.servers import ROOT, AppServer

COMMANDS = ["serve", "migrate", "seed", "check", "export-schema", "simulate", "simulate webhook", "simulate call",
            "create-account", "create-user"]


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


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ops.cli", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def secret(output: str, label: str) -> str:
    return next(line.split(": ", 1)[1] for line in output.splitlines() if line.startswith(label))


def test_create_account_and_users_print_their_secret_once(app_server: AppServer, store_env: dict[str, str]) -> None:
    tag = uuid.uuid4().hex[:8]
    made = run_cli("create-account", f"CLI Co {tag}", "--owner-email", f"boss-{tag}@cli.example", env=store_env)
    assert made.returncode == 0, made.stderr
    owner = sign_in(app_server.graphql, f"boss-{tag}@cli.example", secret(made.stdout, "password"))
    assert owner["user"]["role"] == "OWNER"
    driver = run_cli("create-user", "--account", f"cli-co-{tag}", "--email", f"d-{tag}@cli.example",
                     "--role", "driver", env=store_env)
    assert driver.returncode == 0, driver.stderr
    assert sign_in(app_server.graphql, f"d-{tag}@cli.example", secret(driver.stdout, "password"))["user"]["role"] \
        == "DRIVER"
    invited = run_cli("create-user", "--account", f"cli-co-{tag}", "--email", f"v-{tag}@cli.example",
                      "--role", "viewer", "--invite", env=store_env)
    token = secret(invited.stdout, "invitation token")
    accept = httpx.post(app_server.graphql, json={
        "query": 'mutation($t: String!) { acceptInvite(token: $t, fullName: "V", password: "a sound passphrase") '
                 "{ __typename ... on SignInPayload { user { role } } } }", "variables": {"t": token}}).json()
    assert accept["data"]["acceptInvite"]["user"]["role"] == "VIEWER"
    again = run_cli("create-user", "--account", f"cli-co-{tag}", "--email", f"D-{tag}@cli.example", env=store_env)
    assert again.returncode == 2 and "already exists" in again.stderr
    nowhere = run_cli("create-user", "--account", "no-such-account", "--email", f"x-{tag}@cli.example",
                      env=store_env)
    assert nowhere.returncode == 2 and "no account" in nowhere.stderr

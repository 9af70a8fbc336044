from __future__ import annotations

import os
import subprocess
import sys

from tests.servers import ROOT


def test_check_exits_0_when_every_store_answers(store_env: dict[str, str]) -> None:
    env = {**os.environ, **store_env, "SWITCHBOARD_DATA_DIR": store_env["SWITCHBOARD_DATA_DIR"] + "-check"}
    result = subprocess.run(
        [sys.executable, "-m", "ops.cli", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for store in ("mongodb", "postgresql", "neo4j", "redis", "chroma"):
        assert f"{store:<11} up" in result.stdout


def test_check_exits_1_when_a_store_is_down(store_env: dict[str, str]) -> None:
    env = {**os.environ, **store_env, "SWITCHBOARD_DATA_DIR": store_env["SWITCHBOARD_DATA_DIR"] + "-check",
           "REDIS_URL": "redis://127.0.0.1:1/0"}
    result = subprocess.run(
        [sys.executable, "-m", "ops.cli", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "redis       DOWN" in result.stdout

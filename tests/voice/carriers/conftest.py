"""Stoplight Prism mocking Telnyx Call Control from the trimmed spec in tests/fixtures (installed by `npm ci`)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ops.embedded.ports import free_port

ROOT = Path(__file__).resolve().parents[3]
# PRISM_BIN: a Prism installed elsewhere (e.g. `npm install @stoplight/prism-cli@5.14.2` in a scratch folder)
PRISM = Path(os.environ.get("PRISM_BIN") or ROOT / "node_modules" / ".bin" / "prism")
SPEC = ROOT / "tests" / "fixtures" / "telnyx" / "call-control.yml"


@pytest.fixture(scope="session")
def prism_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not PRISM.exists():
        pytest.skip(f"{PRISM} is missing: run `npm ci` in the repository root (scripts/test does), or set PRISM_BIN")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [PRISM, "mock", "-h", "127.0.0.1", "-p", str(port), SPEC],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_answering(url, process, log, timeout=60)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_answering(url: str, process: subprocess.Popen[bytes], log: Path, *, timeout: float) -> None:
    """Any HTTP answer (Prism's 404 for `/`) means the routes are loaded."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prism exited with {process.returncode}:\n{_tail(log)}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"prism did not answer on {url} within {timeout:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

"""wrk as the load generator: installed from Debian when missing, one POST body per run, figures as a record.

wrk keeps a fixed number of connections busy (closed loop); `peers/post.lua` posts the body, counts every
answer that is not a clean 200 without GraphQL errors, and prints the latency percentiles as one JSON line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "peers" / "post.lua"


@dataclass(frozen=True)
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # answers other than 200, or with GraphQL errors
    socket_errors: int  # connect, read and write errors, and requests unanswered after 10 s
    sample: str  # the first failed answer: status and the start of its body

    def as_dict(self) -> dict[str, float | int | str]:
        return {"rps": self.rps, "p50_ms": self.p50_ms, "p99_ms": self.p99_ms, "requests": self.requests,
                "errors": self.errors, "socket_errors": self.socket_errors, "sample": self.sample}


def ensure_wrk() -> str:
    """The wrk binary; apt-get installs Debian's package when it is missing (through sudo -n unless root)."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "install", "-y", "--no-install-recommends", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("apt-get installed wrk but it is not on the PATH")
    return found


def run(wrk: str, url: str, body: bytes, *, token: str = "", connections: int, seconds: float) -> Run:
    """One closed-loop run of `connections` connections on one wrk thread for `seconds`."""
    with tempfile.NamedTemporaryFile(suffix=".json") as file:
        file.write(body)
        file.flush()
        cmd = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
               "-s", str(SCRIPT), url, "--", file.name, token]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=seconds + 60).stdout
    lines = out.strip().splitlines()
    figures = json.loads(lines[-1])
    samples = [line.removeprefix("failed answer: ") for line in lines if line.startswith("failed answer: ")]
    return Run(
        rps=figures["requests"] / (figures["duration_us"] / 1e6),
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        requests=figures["requests"],
        errors=figures["bad"],
        socket_errors=sum(figures[k] for k in ("connect", "read", "write", "timeout")),
        sample=samples[0] if samples else "",
    )

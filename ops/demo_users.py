"""The demo users' sign-in credentials: made at seed time, kept in the data folder, printed at start-up.

Development only: production refuses SEED_DEMO, so these never exist there.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

CREDENTIALS_FILE = "demo-users.json"


@dataclass(frozen=True)
class DemoCredential:
    account: str
    email: str
    password: str
    role: str


def demo_password() -> str:
    return secrets.token_urlsafe(12)


def credentials_path(data_dir: Path) -> Path:
    return data_dir / CREDENTIALS_FILE


def write_credentials(data_dir: Path, credentials: list[DemoCredential]) -> Path:
    path = credentials_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.write_text(json.dumps([asdict(c) for c in credentials], indent=2) + "\n")
    path.chmod(0o600)
    return path


def read_credentials(data_dir: Path) -> list[DemoCredential]:
    path = credentials_path(data_dir)
    if not path.exists():
        return []
    try:
        return [DemoCredential(**item) for item in json.loads(path.read_text())]
    except (ValueError, TypeError):
        return []


def describe(credentials: list[DemoCredential], path: Path) -> str:
    """A table for the terminal: one user per line, the owners first."""
    lines = [f"Demo users (sign in with signIn(email, password); also in {path}):"]
    for c in sorted(credentials, key=lambda c: (c.account, c.role != "owner", c.role, c.email)):
        lines.append(f"  {c.account:<7} {c.role:<10} {c.email:<28} {c.password}")
    return "\n".join(lines)

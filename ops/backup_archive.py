"""The backup archive: a `.tar.gz` of `manifest.json` and one member per store: JSON lines, or for PostgreSQL
a pg_dump custom-format file where a matching pg_dump was installed (`datasources/postgres/native.py`).

Reading an archive checks everything that can be checked without a store (that it is a tar.gz, that it has a
valid manifest of a known format, that every member the manifest names is there with its SHA-256) and raises
`ArchiveError` naming the problem, so that a restore refuses before it touches anything."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = 1
MANIFEST = "manifest.json"
STORES = ("postgresql", "mongodb", "graph", "chroma", "redis")
PREFIX = "switchboard-"
SUFFIX = ".tar.gz"
# member format -> file suffix
MEMBER_FORMATS = {"jsonl": ".jsonl", "pg_dump": ".pgdump"}


class ArchiveError(Exception):
    """An archive that must not be restored: corrupt, truncated, foreign or of another schema version."""


@dataclass
class Member:
    name: str
    sha256: str
    bytes: int
    counts: dict[str, int]
    seconds: float = 0.0
    format: str = "jsonl"
    # the SHA-256 of the store's data as JSON lines (the driver's dump), which a restore is verified against;
    # for a jsonl member it is `sha256` itself, for a pg_dump member it was taken in pg_dump's snapshot
    records_sha256: str = ""

    @property
    def data_sha256(self) -> str:
        return self.records_sha256 or self.sha256


@dataclass
class Manifest:
    created_at: str
    schema: dict[str, str]  # store -> applied version (PostgreSQL: the Alembic revision)
    members: dict[str, Member] = field(default_factory=dict)  # store -> its member
    format: int = FORMAT

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise ArchiveError(f"unsupported archive format {data.get('format')!r} (this code reads {FORMAT})")
            members = {store: Member(**m) for store, m in data["members"].items()}
            if odd := sorted({m.format for m in members.values()} - MEMBER_FORMATS.keys()):
                raise ArchiveError(f"unsupported member format {', '.join(odd)} (this code reads "
                                   f"{', '.join(MEMBER_FORMATS)})")
            manifest = cls(created_at=str(data["created_at"]), schema={k: str(v) for k, v in data["schema"].items()},
                           members=members, format=int(data["format"]))
        except ArchiveError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ArchiveError(f"not a Switchboard backup: invalid manifest.json ({exc})") from None
        if missing := [s for s in STORES if s not in manifest.members]:
            raise ArchiveError(f"not a Switchboard backup: the manifest lists no {', '.join(missing)}")
        return manifest


def encode(record: dict[str, Any]) -> bytes:
    """One record as one line: sorted keys and no padding, so equal data gives equal bytes."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode() + b"\n"


def member_name(store: str, format: str = "jsonl") -> str:
    return f"{store}{MEMBER_FORMATS[format]}"


def write(path: Path, manifest: Manifest, files: dict[str, Path]) -> None:
    """Writes the archive next to `path` and renames it into place, so a crash leaves no half archive."""
    partial = path.with_name(path.name + ".partial")
    with tarfile.open(partial, "w:gz") as tar:
        info = tarfile.TarInfo(MANIFEST)
        raw = manifest.to_json()
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
        for store in STORES:
            tar.add(files[store], arcname=manifest.members[store].name)
    partial.replace(path)


def read(path: Path, into: Path | None = None) -> Manifest:
    """The archive's manifest, after checking every member's checksum; members are extracted into `into`."""
    if not path.is_file():
        raise ArchiveError(f"no such archive: {path}")
    try:
        with tarfile.open(path, "r:gz") as tar:
            manifest: Manifest | None = None
            seen: dict[str, tuple[str, int]] = {}
            for info in tar:
                if info.name == MANIFEST:
                    handle = tar.extractfile(info)
                    manifest = Manifest.from_json(handle.read() if handle else b"")
                    continue
                if not info.isfile() or "/" in info.name or info.name.startswith("."):
                    raise ArchiveError(f"not a Switchboard backup: unexpected member {info.name!r}")
                handle = tar.extractfile(info)
                digest = hashlib.sha256()
                size = 0
                out = open(into / info.name, "wb") if into is not None else None  # noqa: SIM115
                try:
                    while handle is not None and (chunk := handle.read(1 << 20)):
                        digest.update(chunk)
                        size += len(chunk)
                        if out is not None:
                            out.write(chunk)
                finally:
                    if out is not None:
                        out.close()
                seen[info.name] = (digest.hexdigest(), size)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ArchiveError(f"the archive is truncated or corrupt: {exc}") from None
    if manifest is None:
        raise ArchiveError("not a Switchboard backup: no manifest.json")
    for store, member in manifest.members.items():
        if member.name not in seen:
            raise ArchiveError(f"the archive is truncated: member {member.name} ({store}) is missing")
        if seen[member.name][0] != member.sha256:
            raise ArchiveError(f"the archive is corrupt: checksum mismatch in {member.name} ({store})")
    return manifest


def archives(folder: Path) -> list[Path]:
    """The backups in `folder`, oldest first."""
    found = [p for p in folder.glob(f"{PREFIX}*{SUFFIX}") if p.is_file()]
    return sorted(found, key=lambda p: (p.stat().st_mtime_ns, p.name))


def prune(folder: Path, keep: int) -> list[Path]:
    """Deletes all but the newest `keep` archives; returns what it deleted."""
    old = archives(folder)[:-keep] if keep > 0 else archives(folder)
    for path in old:
        path.unlink()
    return old

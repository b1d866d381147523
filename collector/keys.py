"""Write keys (one or more per project) and the admin key, looked up in constant time.

Keys come from `TENURE_WRITE_KEYS="project:key,project2:key2"` and `TENURE_ADMIN_KEY`. When neither is
set, the first `serve` creates a `default` project with random keys in `<data_dir>/keys.json`
(mode 0600) and later starts reuse them.

Lookup hashes the presented key with SHA-256 and finds the digest in a dict, then confirms with
`hmac.compare_digest`: the time taken does not depend on how much of a real key was guessed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True)
class KeyRing:
    projects_by_digest: dict[bytes, str]
    admin_digest: bytes | None

    @classmethod
    def build(cls, write_keys: dict[str, str], admin_key: str | None) -> "KeyRing":
        """`write_keys` maps key -> project."""
        return cls({_digest(k): p for k, p in write_keys.items()}, _digest(admin_key) if admin_key else None)

    @property
    def projects(self) -> list[str]:
        return sorted(set(self.projects_by_digest.values()))

    def project_for(self, write_key: str | None) -> str | None:
        if not write_key:
            return None
        digest = _digest(write_key)
        for known, project in self.projects_by_digest.items():
            if hmac.compare_digest(known, digest):
                return project
        return None

    def is_admin(self, key: str | None) -> bool:
        if not key or self.admin_digest is None:
            return False
        return hmac.compare_digest(self.admin_digest, _digest(key))


def parse_write_keys(spec: str) -> dict[str, str]:
    """`"proj:key,proj2:key2"` -> {key: project}."""
    keys: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        project, sep, key = item.partition(":")
        if not sep or not project or not key:
            raise ValueError(f"TENURE_WRITE_KEYS entry {item[:8]!r}... is not project:key")
        keys[key] = project
    return keys


@dataclass(frozen=True)
class LoadedKeys:
    write_keys: dict[str, str]  # key -> project
    admin_key: str | None
    source: str  # where they came from, for the start-up log line
    created: bool = False


def load_or_create(keys_file: Path, write_spec: str | None, admin_key: str | None) -> LoadedKeys:
    if write_spec or admin_key:
        return LoadedKeys(parse_write_keys(write_spec or ""), admin_key, "environment")
    if keys_file.exists():
        data = json.loads(keys_file.read_text())
        return LoadedKeys({k: p for p, k in data["write_keys"].items()}, data["admin_key"], str(keys_file))
    data = {"write_keys": {"default": "wk_" + secrets.token_urlsafe(24)}, "admin_key": "ak_" + secrets.token_urlsafe(32)}
    keys_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(keys_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)
    return LoadedKeys({k: p for p, k in data["write_keys"].items()}, data["admin_key"], str(keys_file), created=True)

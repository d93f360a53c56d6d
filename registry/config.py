"""Settings: command-line flags, then ``PROMPTCTL_*`` variables, then ``promptctl.toml``.

``promptctl.toml`` lives at the repository root and is found by walking up
from the working directory, so every command works from any sub-folder.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptctl.errors import UsageError
from promptctl.limits import DEFAULT_LIMITS, Limits

CONFIG_FILE = "promptctl.toml"
STATE_DIR = ".promptctl"
DEFAULT_ENVIRONMENTS = ("development", "staging", "production")
FLAG_BACKENDS = ("builtin", "unleash")


@dataclass
class Settings:
    root: Path
    registry_dir: str = "prompts"
    db_url: str = ""
    url: str | None = None
    token: str | None = None
    flags: str = "builtin"
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    limits: Limits = DEFAULT_LIMITS

    @property
    def registry_path(self) -> Path:
        return self.root / self.registry_dir


def find_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding ``promptctl.toml`` or ``.git``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file() or (folder / ".git").exists():
            return folder
    return start


def load_settings(start: Path | None = None, **overrides: Any) -> Settings:
    """Merge flags (``overrides``), environment and file into :class:`Settings`."""
    root = find_root(start or Path.cwd())
    file_values = _read_toml(root / CONFIG_FILE)
    env = os.environ

    def pick(key: str, env_name: str, default: Any = None) -> Any:
        if overrides.get(key) is not None:
            return overrides[key]
        if env.get(env_name):
            return env[env_name]
        return file_values.get(key, default)

    registry_dir = pick("registry_dir", "PROMPTCTL_DIR", "prompts")
    db_url = pick("db", "PROMPTCTL_DB") or f"sqlite:///{root / STATE_DIR / 'registry.db'}"
    flags = pick("flags", "PROMPTCTL_FLAGS", "builtin")
    if flags not in FLAG_BACKENDS:
        raise UsageError(f"unknown flag backend {flags!r}; use one of: {', '.join(FLAG_BACKENDS)}")
    environments = file_values.get("environments") or {n: {} for n in DEFAULT_ENVIRONMENTS}
    return Settings(
        root=root,
        registry_dir=str(registry_dir),
        db_url=_absolute_sqlite(str(db_url), root),
        url=pick("url", "PROMPTCTL_URL"),
        token=pick("token", "PROMPTCTL_TOKEN"),
        flags=str(flags),
        environments={k: dict(v or {}) for k, v in environments.items()},
        extra=file_values,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path.name}: invalid TOML: {exc}") from None


def _absolute_sqlite(url: str, root: Path) -> str:
    """Make a relative SQLite path in the config relative to the repo root, not the cwd."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str((root / url[len(prefix):]).resolve())
    return url

"""Settings: command-line flags, then ``PROMPTCTL_*`` variables, then ``promptctl.toml``.

``promptctl.toml`` lives at the project root and is found by walking up from the working
directory, so every command works from any sub-folder. A *project* is a folder holding
``promptctl.toml`` or a git work tree; outside one there is no default database, so no
command creates ``.promptctl/registry.db`` in a random folder.

Every key is validated here, in one place, before any command acts: each problem is
reported once, naming the key and where it came from, and all problems come in one
error (exit 2). Consumers (rollout, review, flags, limits) then read typed values. The
README's "Configuration keys" table lists the keys.

Standard library only: every command, ``--help`` included, imports this module.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptctl.env_names import env_name_problem
from promptctl.errors import UsageError
from promptctl.limits import DEFAULT_LIMITS, LIMIT_NAMES, Limits, limits_from
from promptctl.urls import http_url_problem, is_sqlite_uri, sqlite_file

CONFIG_FILE = "promptctl.toml"
STATE_DIR = ".promptctl"
DEFAULT_DB_FILE = "registry.db"
DEFAULT_ENVIRONMENTS = ("development", "staging", "production")
FLAG_BACKENDS = ("builtin", "unleash")
MEMORY_DB_URL = "sqlite://"
"""What a read-only command reads when the database file does not exist yet: an empty
database that vanishes with the process, so reading never creates a file."""

TOP_LEVEL_KEYS = ("registry_dir", "db", "url", "token", "flags", "environments", "review",
                  "unleash", "limits", "plans")
ENVIRONMENT_KEYS = ("require_eval",)
REVIEW_KEYS = ("token_growth_percent", "token_growth_min_tokens")
UNLEASH_KEYS = ("url", "admin_token")


@dataclass
class Settings:
    root: Path
    registry_dir: str = "prompts"
    db: str | None = None
    """The database URL named by ``--db``, ``PROMPTCTL_DB`` or ``db =``; ``None``: the
    project's default SQLite file (see :attr:`db_url`)."""
    url: str | None = None
    token: str | None = None
    flags: str = "builtin"
    environments: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    """The whole of ``promptctl.toml``, validated (``[review]``, ``[unleash]``, ...)."""
    limits: Limits = DEFAULT_LIMITS
    is_project: bool = True
    """``root`` holds ``promptctl.toml`` or a git work tree (else it is the start folder)."""
    read_only: bool = False
    """The command only reads: a database file that does not exist is not created."""

    @property
    def registry_path(self) -> Path:
        return self.root / self.registry_dir

    @property
    def default_db_path(self) -> Path:
        return self.root / STATE_DIR / DEFAULT_DB_FILE

    @property
    def configured_db_url(self) -> str:
        """The database the configuration names: ``db``, else the project's default file.

        Outside a project there is no default: a ``UsageError`` says so (exit 2) rather than
        creating ``.promptctl/registry.db`` wherever the command ran.
        """
        if self.db:
            return self.db
        if not self.is_project:
            raise UsageError(
                f"{self.root} is not inside a promptctl project (no {CONFIG_FILE} or git "
                "work tree here or above): run `promptctl init` there, or name a database "
                f"with PROMPTCTL_DB or db in {CONFIG_FILE}", setting="db")
        return f"sqlite:///{self.default_db_path}"

    @property
    def db_url(self) -> str:
        """The store's SQLAlchemy URL: :attr:`configured_db_url`, except that for a read-only
        command a SQLite file that does not exist yet reads as an empty database
        (:data:`MEMORY_DB_URL`), so ``list`` works in a fresh project and creates nothing.
        """
        url = self.configured_db_url
        if self.read_only and not is_sqlite_uri(url):
            path = sqlite_file(url)
            if path is not None and not Path(path).exists():
                return MEMORY_DB_URL
        return url


def find_project(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` holding ``promptctl.toml`` or ``.git``."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file() or (folder / ".git").exists():
            return folder
    return None


def find_root(start: Path) -> Path:
    """The project folder of ``start``, or ``start`` itself outside a project."""
    return find_project(start) or start.resolve()


def load_settings(start: Path | None = None, *, read_only: bool = False,
                  **overrides: Any) -> Settings:
    """Merge flags (``overrides``), environment and file into validated :class:`Settings`.

    Raises one ``UsageError`` listing every problem found (its ``detail`` is the list).
    """
    folder = _start_folder(start)
    project = find_project(folder)
    root = project or folder
    file_values = _read_toml(root / CONFIG_FILE)
    check = _Checker(os.environ)
    check.unknown_keys(file_values)
    picked = {key.name: check.pick(key, overrides.get(key.name), file_values)
              for key in SCALAR_KEYS}
    environments = check.environments(file_values.get("environments"))
    extra = dict(file_values)
    for name, table_check in (("review", check.review), ("unleash", check.unleash),
                              ("plans", check.plans)):
        if name in extra:
            extra[name] = table_check(extra[name])
    check.unleash_environment()
    limits = check.limits(file_values.get("limits"))
    if check.problems:
        count = len(check.problems)
        raise UsageError(f"invalid configuration ({count} problem{'s' * (count > 1)}): "
                         + "; ".join(check.problems), detail=check.problems)
    db = picked["db"]
    return Settings(
        root=root,
        registry_dir=picked["registry_dir"] or "prompts",
        db=_absolute_sqlite(db, root) if db else None,
        url=picked["url"],
        token=picked["token"],
        flags=picked["flags"] or "builtin",
        environments=environments,
        extra=extra,
        limits=limits,
        is_project=project is not None,
        read_only=read_only,
    )


def _start_folder(start: Path | None) -> Path:
    folder = Path.cwd() if start is None else Path(start)
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise UsageError(f"the project folder {folder} {what}", setting="repo")
    return folder.resolve()


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path.name}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise UsageError(f"{path.name}: cannot read it: {exc.strerror or exc}") from None


def _absolute_sqlite(url: str, root: Path) -> str:
    """Make a relative SQLite path in the config relative to the repo root, not the cwd.

    SQLite URI filenames (``sqlite:///file:...?uri=true``) are SQLite's to parse: left as
    they are."""
    prefix = "sqlite:///"
    if (url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url
            and not is_sqlite_uri(url)):
        return prefix + str((root / url[len(prefix):]).resolve())
    return url


# -- validation ---------------------------------------------------------------------------------

Problem = Callable[[object], "str | None"]


def _shown(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _string(value: object) -> str | None:
    if not isinstance(value, str) or not value or "\0" in value:
        return f"must be a non-empty string, got {_shown(value)}"
    return None


def _secret(value: object) -> str | None:
    """A bearer token goes into an HTTP header: printable ASCII, no spaces. Never echoed."""
    if not isinstance(value, str) or not value:
        return f"must be a non-empty string, got {type(value).__name__}"
    if not value.isascii() or not value.isprintable() or " " in value:
        return (f"must be printable ASCII without spaces (a token like pct_...); this one "
                f"has {len(value)} characters, some of them not allowed")
    return None


def _choice(options: tuple[str, ...]) -> Problem:
    def problem(value: object) -> str | None:
        if value not in options:
            return f"must be one of: {', '.join(options)}; got {_shown(value)}"
        return None
    return problem


def _number(minimum: float, *, integer: bool = False) -> Problem:
    def problem(value: object) -> str | None:
        kinds: tuple[type, ...] = (int,) if integer else (int, float)
        if (isinstance(value, bool) or not isinstance(value, int | float) or value != value
                or not isinstance(value, kinds)
                or value in (float("inf"), float("-inf")) or value < minimum):
            what = "an integer" if integer else "a number"
            return f"must be {what} ≥ {minimum:g}, got {_shown(value)}"
        return None
    return problem


def _require_eval(value: object) -> str | None:
    if isinstance(value, bool) or (isinstance(value, str) and value.strip()):
        return None
    return f"must be true, false or the name of an eval suite, got {_shown(value)}"


@dataclass(frozen=True)
class Key:
    """A scalar setting: its ``promptctl.toml`` key, environment variable and check."""

    name: str
    env: str
    check: Problem


SCALAR_KEYS = (
    Key("registry_dir", "PROMPTCTL_DIR", _string),
    Key("db", "PROMPTCTL_DB", _string),
    Key("url", "PROMPTCTL_URL", http_url_problem),
    Key("token", "PROMPTCTL_TOKEN", _secret),
    Key("flags", "PROMPTCTL_FLAGS", _choice(FLAG_BACKENDS)),
)
REVIEW_CHECKS: dict[str, Problem] = {
    "token_growth_percent": _number(0),
    "token_growth_min_tokens": _number(0, integer=True),
}


class _Checker:
    """Collects every problem of one configuration, each naming its key and source."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def _ok(self, where: str, check: Problem, value: object) -> bool:
        problem = check(value)
        if problem:
            self.problems.append(f"{where} {problem}")
        return problem is None

    def unknown_keys(self, file_values: Mapping[str, Any]) -> None:
        for key in file_values:
            if key not in TOP_LEVEL_KEYS:
                self.problems.append(f"{CONFIG_FILE}: unknown key {key!r} "
                                     f"(known: {', '.join(TOP_LEVEL_KEYS)})")

    def pick(self, key: Key, override: object, file_values: Mapping[str, Any]) -> Any:
        """The flag, else the environment variable, else the file's value; each given
        source is checked (a bad file value is a problem even when a variable wins)."""
        candidates = []
        if override is not None:
            candidates.append((f"the given {key.name}", override))
        if self.environ.get(key.env):
            candidates.append((key.env, self.environ[key.env]))
        if key.name in file_values:
            candidates.append((f"{CONFIG_FILE}: {key.name}", file_values[key.name]))
        valid = [value for where, value in candidates if self._ok(where, key.check, value)]
        return valid[0] if valid else None

    def _table(self, name: str, raw: object, example: str) -> dict[str, Any] | None:
        if isinstance(raw, dict):
            return raw
        self.problems.append(f"{CONFIG_FILE}: {name} must be a table ({example}), "
                             f"got {_shown(raw)}")
        return None

    def _known(self, name: str, table: Mapping[str, Any], known: tuple[str, ...]) -> None:
        for key in table:
            if key not in known:
                self.problems.append(f"{CONFIG_FILE}: {name} has no key {key!r} "
                                     f"(known: {', '.join(known)})")

    def environments(self, raw: object) -> dict[str, dict[str, Any]]:
        default: dict[str, dict[str, Any]] = {name: {} for name in DEFAULT_ENVIRONMENTS}
        if raw is None:
            return default
        table = self._table("environments", raw, "[environments.production]")
        if table is None:
            return default
        result: dict[str, dict[str, Any]] = {}
        for name, options in table.items():
            where = f"{CONFIG_FILE}: environments.{name}"
            problem = env_name_problem(name)
            if problem:
                self.problems.append(f"{CONFIG_FILE}: environments: {problem}")
                continue
            if not isinstance(options, dict):
                self.problems.append(f"{where} must be a table ([environments.{name}]), "
                                     f"got {_shown(options)}")
                continue
            self._known(f"environments.{name}", options, ENVIRONMENT_KEYS)
            if "require_eval" in options:
                self._ok(f"{where}.require_eval", _require_eval, options["require_eval"])
            result[name] = dict(options)
        return result or default

    def review(self, raw: object) -> dict[str, Any]:
        """``[review]``: the known keys are typed here; other keys belong to the review
        rules and are passed through as they are."""
        table = self._table("review", raw, "[review]")
        if table is None:
            return {}
        checked = dict(table)
        for key, check in REVIEW_CHECKS.items():
            if key in table and not self._ok(f"{CONFIG_FILE}: review.{key}", check, table[key]):
                del checked[key]
        return checked

    def unleash(self, raw: object) -> dict[str, Any]:
        table = self._table("unleash", raw, "[unleash]")
        if table is None:
            return {}
        self._known("unleash", table, UNLEASH_KEYS)
        checks: dict[str, Problem] = {"url": http_url_problem, "admin_token": _secret}
        return {key: value for key, value in table.items()
                if key in checks and self._ok(f"{CONFIG_FILE}: unleash.{key}", checks[key], value)}

    def plans(self, raw: object) -> dict[str, Any]:
        """``[plans.NAME]``: rollout plans (:mod:`promptctl.plans`); invalid ones are left out."""
        from promptctl.plans import plan_problems

        table = self._table("plans", raw, "[plans.careful]")
        if table is None:
            return {}
        valid = {}
        for name, plan in table.items():
            problems = plan_problems(name, plan)
            self.problems.extend(f"{CONFIG_FILE}: {p}" for p in problems)
            if not problems:
                valid[name] = plan
        return valid

    def unleash_environment(self) -> None:
        for name, check in (("PROMPTCTL_UNLEASH_URL", http_url_problem),
                            ("PROMPTCTL_UNLEASH_TOKEN", _secret)):
            if self.environ.get(name):
                self._ok(name, check, self.environ[name])

    def limits(self, raw: object) -> Limits:
        """``[limits]`` and ``PROMPTCTL_<LIMIT>``, checked one key at a time by
        :func:`promptctl.limits.limits_from` so that every bad key is reported."""
        table = self._table("limits", raw, "[limits]") if raw is not None else {}
        good_table: dict[str, Any] = {}
        for key, value in (table or {}).items():
            if self._limit_ok({key: value}, {}):
                good_table[key] = value
        good_env: dict[str, str] = {}
        for key in LIMIT_NAMES:
            name = f"PROMPTCTL_{key.upper()}"
            if self.environ.get(name) and self._limit_ok(None, {name: self.environ[name]}):
                good_env[name] = self.environ[name]
        return limits_from(good_table, good_env)

    def _limit_ok(self, table: dict[str, Any] | None, environ: dict[str, str]) -> bool:
        try:
            limits_from(table, environ)
        except UsageError as exc:
            self.problems.append(exc.message)
            return False
        return True

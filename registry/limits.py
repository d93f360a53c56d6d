"""Bounds on everything a stranger can make promptctl spend: one table, one place.

Registry files come from pull requests, render variables from app users, HTTP
requests from anyone who can reach the server. Each bound below has a default
that fits real prompts (the largest real prompt seen was 231 KB) and can be
changed with a ``PROMPTCTL_<NAME>`` environment variable or the ``[limits]``
table of ``promptctl.toml`` (key = the field name). The README's "Limits"
section lists them.

This module imports nothing but the standard library, so the SDK can use it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from promptctl.errors import UsageError


@dataclass(frozen=True)
class Limits:
    # files under prompts/
    max_file_bytes: int = 1024 * 1024
    """Largest artifact file read (bytes)."""
    max_template_bytes: int = 512 * 1024
    """Largest single template (UTF-8 bytes)."""
    max_yaml_nodes: int = 100_000
    """Most YAML nodes (scalars, sequences, mappings) in one file."""
    max_yaml_depth: int = 64
    """Deepest nesting of YAML collections (and of JSON Schemas) in one file."""
    max_template_nesting: int = 16
    """Deepest nesting of ``{% for %}``/``{% if %}``/... blocks in one template, and of
    brackets and prefix operators in one expression."""
    max_messages: int = 1000
    """Most messages in one template (``template.messages``) and in one placeholder value."""
    max_snippet_depth: int = 8
    """Deepest chain of snippets including snippets."""
    # rendering
    max_render_chars: int = 4 * 1024 * 1024
    """Largest rendered output of one template (characters)."""
    render_timeout_seconds: float = 2.0
    """Longest time one render may take (seconds)."""
    max_range: int = 100_000
    """Largest ``range()`` a template may create."""
    # HTTP server
    header_timeout_seconds: float = 10.0
    """Time a client has to send a request's headers (seconds)."""
    body_timeout_seconds: float = 10.0
    """Time a client has to send a request's body (seconds)."""
    idle_timeout_seconds: float = 5.0
    """Time a kept-alive connection may stay idle (seconds)."""
    max_connections: int = 1000
    """Most open client connections; more are closed at once (keep under ``ulimit -n``)."""
    max_bundles_per_request: int = 200
    """Most fingerprints one ``GET /v1/bundles`` may name (the SDK asks for 100 at a time)."""
    max_delta_events: int = 10_000
    """Most audit events one delta is built from; a reader further behind gets the full
    state."""
    max_ofrep_bulk_flags: int = 1000
    """Most prompts one OFREP bulk evaluation answers for (each value is a whole bundle);
    a larger environment is evaluated flag by flag."""
    # SDK (defaults of Registry(session_ttl=, max_sessions=); the SDK reads no config file)
    session_pin_ttl_seconds: float = 3600.0
    """How long a session pin (``reg.get(..., session=...)``) lasts unused (seconds)."""
    max_session_pins: int = 100_000
    """Most session pins one ``Registry`` holds; the least recently used go first."""
    server_bundle_cache_bytes: int = 32 * 1024 * 1024
    """Bundle bytes the server keeps in memory (least recently used first out), in front
    of its on-disk bundle pack (``promptctl.api.states``); releases never change."""
    # outcome telemetry and the fleet (guarded rollouts)
    max_outcome_windows: int = 200
    """Most windows one ``POST /v1/envs/{env}/outcomes`` may carry (the SDK sends 100)."""
    max_calls_per_window: int = 10_000_000
    """Most calls one instance may report for one window of one prompt version."""
    fleet_ttl_seconds: float = 30.0
    """An SDK instance not heard from for this long is no longer live (fleet, ``--wait``)."""
    outcome_retention_seconds: float = 7 * 86400.0
    """How long outcome windows are kept, and how old a reported window may be."""
    plan_evaluate_seconds: float = 10.0
    """How often ``promptctl serve`` evaluates the running rollout plans' guards."""
    # review reports
    max_comment_chars: int = 65_000
    """Default budget of ``diff --format markdown`` (UTF-16 units; GitHub takes 65,536)."""
    # eval providers (openai, anthropic)
    max_retry_after_seconds: float = 60.0
    """Longest ``Retry-After`` of a 429/5xx answer an eval run waits for; a longer one is
    cut to this (a proxy's "come back in an hour" would otherwise hang the run)."""
    # web dashboard
    max_ui_sessions: int = 10_000
    """Most dashboard sessions one server keeps at once (the oldest is signed out first)."""
    ui_session_seconds: float = 12 * 3600.0
    """How long a dashboard sign-in lasts before the token must be pasted again."""


DEFAULT_LIMITS = Limits()
LIMIT_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Limits))


def limits_from(table: Mapping[str, Any] | None = None,
                environ: Mapping[str, str] | None = None) -> Limits:
    """Defaults, overridden by ``table`` (``[limits]`` of promptctl.toml), then by the
    environment (``PROMPTCTL_MAX_FILE_BYTES=...``). A bad value is a one-line UsageError
    naming the key."""
    environ = os.environ if environ is None else environ
    values: dict[str, int | float] = {}
    for key, raw in (table or {}).items():
        if key not in LIMIT_NAMES:
            raise UsageError(f"promptctl.toml: [limits] has no key {key!r}; "
                             f"known: {', '.join(LIMIT_NAMES)}")
        values[key] = _positive(f"promptctl.toml: limits.{key}", raw, _kind(key))
    for key in LIMIT_NAMES:
        env_name = f"PROMPTCTL_{key.upper()}"
        if environ.get(env_name):
            values[key] = _positive(env_name, environ[env_name], _kind(key))
    return replace(DEFAULT_LIMITS, **values)  # type: ignore[arg-type]  # each key's own type


def _kind(key: str) -> type:
    return float if key.endswith("_seconds") else int


def _positive(where: str, raw: object, kind: type) -> int | float:
    try:
        if isinstance(raw, bool) or (kind is int and isinstance(raw, float)):
            raise ValueError
        value = kind(raw)
    except (TypeError, ValueError):
        raise UsageError(f"{where} must be a positive {kind.__name__}, got {raw!r}") from None
    if not value > 0 or value != value or value == float("inf"):
        raise UsageError(f"{where} must be a positive {kind.__name__}, got {raw!r}")
    return value  # type: ignore[no-any-return]

"""(environment, prompt, key) -> the bundle to use: one evaluation path for API and SDK.

A *snapshot* is a JSON document holding, for one environment, every prompt's
rollout (stable, canary, percent, stickiness) with the bundles of the versions
it serves and their fingerprints, plus the environment's change id (the id of
its latest audit event, which only grows) as the ETag. The server builds it
from the database; the SDK evaluates it in memory; both call
:meth:`Snapshot.resolve`, so a key lands on the same variant everywhere.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptctl.bucketing import DEFAULT_STICKINESS, in_rollout, normalized_hash
from promptctl.bundle import Bundle, resolve_bundle
from promptctl.catalog import Catalog
from promptctl.errors import NotFoundError, ValidationError
from promptctl.model import ArtifactKey, Prompt, Ref

if TYPE_CHECKING:  # the database layer is imported only where snapshots are built, so
    from sqlmodel import Session  # the SDK (which only evaluates them) stays light

    from promptctl.store import Store

SNAPSHOT_FORMAT = 1
_BUNDLE_CACHE_SIZE = 20_000

# Compiled bundles by fingerprint, shared by every snapshot in the process. Released
# versions are immutable, so a new snapshot (say, after a rollback) reuses the bundles
# it already has and a swap costs a JSON parse, not a re-validation of every artifact.
_bundles: dict[str, Bundle] = {}


def _bundle(fingerprint: str, data: dict[str, Any]) -> Bundle:
    bundle = _bundles.get(fingerprint)
    if bundle is None:
        bundle = Bundle.from_dict(data)
        if len(_bundles) >= _BUNDLE_CACHE_SIZE:
            _bundles.clear()
        _bundles[fingerprint] = bundle
    return bundle


@dataclass(frozen=True, eq=False)
class ResolvedBundle:
    """The version of a prompt that one key gets, ready to render and to log."""

    env: str
    name: str
    version: str
    variant: str  # "stable" | "canary"
    fingerprint: str
    bundle: Bundle
    change_id: int = 0

    def render(self, **values: Any) -> list[dict[str, str]]:
        """Chat messages ``[{role, content}]``; variables are type-checked."""
        return self.bundle.render(**values)

    @property
    def model(self) -> str:
        """The provider's model id (e.g. ``gpt-4o-mini-2024-07-18``)."""
        return self.bundle.model.model

    @property
    def provider(self) -> str:
        return self.bundle.model.provider

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.bundle.model.params)

    @cached_property
    def tools(self) -> list[dict[str, Any]]:
        """Function definitions to pass to the model: name, description, parameters."""
        return [{"name": t.name, "description": t.description, "parameters": t.parameters}
                for t in self.bundle.tools]

    @property
    def index(self) -> dict[str, Any] | None:
        return self.bundle.index.content() if self.bundle.index else None

    @property
    def output_schema(self) -> dict[str, Any] | None:
        return self.bundle.prompt.output_schema

    @property
    def templates(self) -> dict[str, str | None]:
        template = self.bundle.prompt.template
        return {"system": template.system, "user": template.user}

    def trace(self) -> dict[str, Any]:
        """What to log with each LLM call so its output can be traced to this bundle."""
        return {"prompt": self.name, "version": self.version, "variant": self.variant,
                "fingerprint": self.fingerprint, "env": self.env,
                "model": f"{self.provider}/{self.model}", "change_id": self.change_id}

    @cached_property
    def json(self) -> bytes:
        """:meth:`to_dict` serialised once: a bundle is immutable, so the bytes are too."""
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    def to_dict(self) -> dict[str, Any]:
        """The resolve endpoint's response body (DESIGN §5)."""
        content = self.bundle.to_dict()
        return {"name": self.name, "version": self.version, "variant": self.variant,
                "fingerprint": self.fingerprint, "env": self.env, "change_id": self.change_id,
                "templates": self.templates, "variables": content["prompt"].get("variables", {}),
                "model": content["model"], "tools": content["tools"], "index": content["index"],
                "output_schema": self.output_schema}


@dataclass(frozen=True)
class _Rollout:
    name: str
    stable: ResolvedBundle
    canary: ResolvedBundle | None
    percent: int
    stickiness: str
    by_user_id: bool  # default stickiness: a plain key is the userId (the fast path)


class Snapshot:
    """A compiled snapshot: immutable, so readers share it without locks."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        try:
            if doc.get("format") != SNAPSHOT_FORMAT:
                raise ValueError(f"unsupported snapshot format {doc.get('format')!r}")
            self.doc = doc
            self.env: str = doc["env"]
            self.change_id: int = int(doc["change_id"])
            self._rollouts = {name: self._compile(name, entry)
                              for name, entry in doc["prompts"].items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValidationError(f"invalid snapshot: {exc}") from None

    @property
    def etag(self) -> str:
        return snapshot_etag(self.env, self.change_id)

    def names(self) -> list[str]:
        return sorted(self._rollouts)

    def resolve(self, name: str, key: object = None,
                context: Mapping[str, object] | None = None) -> ResolvedBundle:
        """The bundle ``key`` (a userId) or ``context`` gets under the current rollout."""
        rollout = self._rollouts.get(name)
        if rollout is None:
            raise NotFoundError(f"prompt {name!r} has no rollout in {self.env}")
        canary = rollout.canary
        if canary is None:
            return rollout.stable
        if context is None and key and rollout.by_user_id:
            # Same result as in_rollout() with {"userId": key}, minus building a dict.
            hit = normalized_hash(str(key), name) <= rollout.percent
        else:
            ctx = dict(context or {})
            if key is not None:
                ctx["userId"] = key
            hit = in_rollout(rollout.percent, name, ctx, rollout.stickiness)
        return canary if hit else rollout.stable

    def bundle_of(self, name: str, version: str) -> ResolvedBundle | None:
        """The bundle of ``name@version`` if it is live (stable or canary) in this snapshot."""
        rollout = self._rollouts.get(name)
        if rollout is None:
            return None
        for live in (rollout.stable, rollout.canary):
            if live is not None and live.version == version:
                return live
        return None

    def _compile(self, name: str, entry: Mapping[str, Any]) -> _Rollout:
        versions = entry["versions"]

        def bundle(version: str, variant: str) -> ResolvedBundle:
            data = versions[version]
            return ResolvedBundle(self.env, name, version, variant, data["fingerprint"],
                                  _bundle(data["fingerprint"], data["bundle"]), self.change_id)

        canary = entry.get("canary")
        stickiness = entry.get("stickiness") or DEFAULT_STICKINESS
        return _Rollout(name=name, stable=bundle(entry["stable"], "stable"),
                        canary=bundle(canary, "canary") if canary else None,
                        percent=int(entry.get("percent") or 0), stickiness=stickiness,
                        by_user_id=stickiness == DEFAULT_STICKINESS)

    # -- serialisation ------------------------------------------------------------------------

    def to_json(self) -> bytes:
        return json.dumps(self.doc, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Snapshot:
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise ValidationError(f"invalid snapshot: not JSON ({exc})") from None
        if not isinstance(doc, dict):
            raise ValidationError("invalid snapshot: not a JSON object")
        return cls(doc)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Snapshot:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise NotFoundError(f"cannot read snapshot {path}: {exc.strerror}") from None
        return cls.from_json(data)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically (temp file + rename), so a crash never leaves half a file."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(self.to_json())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def snapshot_etag(env: str, change_id: int) -> str:
    return f'"{env}-{change_id}"'


def change_id(session: Session, env: str) -> int:
    """The id of ``env``'s latest audit event (0 before the first change)."""
    from sqlalchemy import func
    from sqlmodel import select

    from promptctl.store.tables import RolloutEvent

    stmt = select(func.max(RolloutEvent.id)).where(RolloutEvent.env == env)
    return int(session.exec(stmt).one() or 0)


def build_snapshot(store: Store, env: str) -> dict[str, Any]:
    """The snapshot document of ``env`` as stored now."""
    from sqlmodel import select

    from promptctl.store.releases import load_released
    from promptctl.store.tables import RolloutRecord

    with store.session() as session:
        current = change_id(session, env)  # read first: a later change only bumps the ETag
        rows = [row for row in session.exec(select(RolloutRecord).where(RolloutRecord.env == env))
                if row.stable is not None]
        served = {row.prompt: [v for v in (row.stable, row.canary) if v] for row in rows}
        catalog = load_released(Catalog(), session, (
            ArtifactKey("prompt", name, v) for name, versions in served.items() for v in versions))
        load_released(catalog, session, {ArtifactKey(kind, ref.name, ref.version)
                                         for entry in catalog
                                         for kind, ref in entry.artifact.refs()})
    prompts: dict[str, Any] = {}
    for row in rows:
        versions = {}
        for version in served[row.prompt]:
            prompt = catalog.require("prompt", Ref(row.prompt, version))
            assert isinstance(prompt, Prompt)
            bundle = resolve_bundle(prompt, catalog)
            versions[version] = {"fingerprint": bundle.fingerprint, "bundle": bundle.to_dict()}
        prompts[row.prompt] = {"stable": row.stable, "canary": row.canary,
                               "percent": row.percent, "stickiness": row.stickiness,
                               "versions": versions}
    return {"format": SNAPSHOT_FORMAT, "env": env, "change_id": current,
            "generated_at": datetime.now(UTC).isoformat(), "prompts": prompts}

"""The database's side of :mod:`promptctl.state`: rollout rows, what changed, released bundles.

The state of an environment is read from its rollout rows plus, per prompt, the id of the
audit event that last changed it. What changed since a change id is read from the audit
table (an event per change, ids that only grow per environment; ``Rollouts`` writes the
changes of one environment one at a time, see ``store.changes.lock_environment``). Bundles
are assembled from the released content as stored (canonical JSON) without building model
objects: a release is immutable and was validated when it was made. Release rows are read
by ``kind = ? AND name IN (...) AND version IN (...)``, the unique index's columns one by
one (SQLite answered a row-value ``IN`` of 300 keys ten times slower), and a bundle is
spliced from the stored texts, not encoded again; together that builds a 50,000-prompt
environment's state and 100,000 bundles in 7.4 s on a quiet machine, against 10.6 s before
(bench/README.md). Filtering on the version too keeps a registry with many released
versions per prompt from reading them all to serve two.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import func
from sqlmodel import Session, select

from promptctl.canonical import canonical_json
from promptctl.errors import NotFoundError
from promptctl.store.snapshot_builder import change_id
from promptctl.store.tables import ReleaseRecord, RolloutEvent, RolloutRecord

__all__ = ["BATCH", "Served", "bundle_bytes", "change_id", "changed_since", "last_changes",
           "last_rollbacks", "served_rows"]

BATCH = 300  # SQLite's variable limit, with room


class Served(NamedTuple):
    """What one prompt's rollout row serves."""

    prompt: str
    stable: str
    canary: str | None
    percent: int
    stickiness: str

    def versions(self) -> list[str]:
        return [v for v in (self.stable, self.canary) if v]


def served_rows(session: Session, env: str, names: Iterable[str] | None = None
                ) -> list[Served]:
    """The rollout rows of ``env`` that serve a version (all, or only ``names``)."""
    columns = (RolloutRecord.prompt, RolloutRecord.stable, RolloutRecord.canary,
               RolloutRecord.percent, RolloutRecord.stickiness)
    stmt = select(*columns).where(RolloutRecord.env == env)  # type: ignore[call-overload]
    rows: list[Any] = []
    if names is None:
        rows = list(session.exec(stmt))
    else:
        wanted = sorted(set(names))
        for start in range(0, len(wanted), BATCH):
            rows += session.exec(stmt.where(RolloutRecord.prompt.in_(  # type: ignore[attr-defined]
                wanted[start:start + BATCH])))
    return [Served(p, s, c, int(pc or 0), st) for p, s, c, pc, st in rows if s is not None]


def last_changes(session: Session, env: str, names: Iterable[str] | None = None
                 ) -> dict[str, int]:
    """Per prompt, the id of the audit event that last changed it in ``env``."""
    return _latest_events(session, names, RolloutEvent.env == env)


def last_rollbacks(session: Session, env: str, names: Iterable[str] | None = None
                   ) -> dict[str, int]:
    """Per prompt that was ever rolled back in ``env``, the id of its latest rollback (the
    SDK releases the session pins taken before it)."""
    return _latest_events(session, names, RolloutEvent.env == env,
                          RolloutEvent.action == "rollback")


def _latest_events(session: Session, names: Iterable[str] | None, *where: Any
                   ) -> dict[str, int]:
    """Per prompt (all, or only ``names``), the id of its latest audit event matching
    ``where``."""
    stmt = (select(RolloutEvent.prompt, func.max(RolloutEvent.id))
            .where(*where).group_by(RolloutEvent.prompt))
    if names is None:
        return {p: int(i) for p, i in session.exec(stmt) if i is not None}
    wanted, out = sorted(set(names)), {}
    for start in range(0, len(wanted), BATCH):
        batch = stmt.where(RolloutEvent.prompt.in_(wanted[start:start + BATCH]))  # type: ignore[attr-defined]
        out.update({p: int(i) for p, i in session.exec(batch) if i is not None})
    return out


def changed_since(session: Session, env: str, since: int, cap: int
                  ) -> tuple[int, set[str]] | None:
    """``(latest change id, prompts changed after since)``; None past ``cap`` events."""
    stmt = (select(RolloutEvent.id, RolloutEvent.prompt)
            .where(RolloutEvent.env == env, RolloutEvent.id > since)  # type: ignore[operator]
            .order_by(RolloutEvent.id).limit(cap + 1))  # type: ignore[arg-type]
    rows = list(session.exec(stmt))
    if len(rows) > cap:
        return None
    return (max((int(i) for i, _ in rows if i is not None), default=since),
            {p for _, p in rows})


def bundle_bytes(session: Session, keys: Iterable[tuple[str, str]]
                 ) -> dict[tuple[str, str], bytes]:
    """The canonical JSON of each ``(prompt, version)``'s bundle: the bytes its
    fingerprint is the SHA-256 of (the same document as ``Bundle.to_dict()``).

    Released content is stored as its canonical JSON, so a bundle without snippets is
    spliced from the stored texts (:func:`spliced`) once each is shown to be canonical by
    its own content hash; building and encoding the document again cost half of a
    50,000-prompt state's build. Anything else is encoded from the parsed document.
    """
    rows = _rows(session, {("prompt", n, v) for n, v in keys})
    prompts = {key: json.loads(text) for key, (text, _) in rows.items()}  # ~20 µs each
    refs: set[tuple[str, str, str]] = set()
    for content in prompts.values():
        refs |= set(_refs(content))
    pinned_rows = _rows(session, refs)
    pinned = {key: json.loads(text) for key, (text, _) in pinned_rows.items()}
    exact = {key: raw for key, (text, content_hash) in (rows | pinned_rows).items()
             if _is_canonical(raw := text.encode(), content_hash)}
    out = {}
    for (_, name, version), content in prompts.items():
        parts = {key: pinned.get(key) for key in _refs(content)}
        absent = [f"{k}/{n}@{v}" for (k, n, v), c in parts.items() if c is None]
        if absent:
            raise NotFoundError(f"prompt {name}@{version} pins {', '.join(absent)}, "
                                "which is not released")
        model = _ref(content["model"], "model")
        tools = [_ref(t, "tool") for t in content.get("tools") or []]
        index = _ref(content["index"], "index") if content.get("index") else None
        snippets = _snippets(session, name, version, content, rows[("prompt", name, version)][0])
        used = [("prompt", name, version), model, *tools, *([index] if index else [])]
        if not snippets and all(key in exact for key in used):
            out[(name, version)] = spliced(exact[used[0]], exact[model],
                                           [exact[t] for t in tools],
                                           exact[index] if index else None)
            continue
        doc: dict[str, Any] = {"prompt": content, "model": parts[model],
                               "tools": [parts[t] for t in tools],
                               "index": parts[index] if index else None}
        if snippets:
            doc["snippets"] = snippets
        out[(name, version)] = canonical_json(doc)
    return out


def spliced(prompt: bytes, model: bytes, tools: list[bytes], index: bytes | None) -> bytes:
    """``canonical_json`` of a bundle without snippets, from its parts' canonical JSON:
    the keys in sorted order and nothing between them, as ``sort_keys`` writes them."""
    return (b'{"index":' + (index if index is not None else b"null") + b',"model":' + model +
            b',"prompt":' + prompt + b',"tools":[' + b",".join(tools) + b"]}")


def _is_canonical(raw: bytes, content_hash: str) -> bool:
    """Whether ``raw`` (a stored content) is the canonical JSON its release's content hash
    names (release stores exactly that; a row edited by hand is encoded again instead)."""
    return hashlib.sha256(raw).hexdigest() == content_hash


def _snippets(session: Session, name: str, version: str, content: dict[str, Any],
              text: str) -> list[dict[str, Any]]:
    """The released snippets a prompt includes, directly or through snippets, in the
    order ``Bundle.to_dict()`` lists them (by ref). ``text`` is the content as stored: a
    prompt that never says "include" includes nothing."""
    if not content.get("snippets") and "include" not in text:
        return []
    from promptctl.model import artifact_from_content

    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    todo = [("snippet", r.name, r.version)
            for r in artifact_from_content(content).snippet_refs()]  # type: ignore[attr-defined]
    while todo:
        wanted = {key for key in todo if key not in found}
        todo = []
        for key, snippet in _contents(session, wanted).items():
            found[key] = snippet
            todo += [("snippet", r.name, r.version)
                     for r in artifact_from_content(snippet).snippet_refs()]  # type: ignore[attr-defined]
        absent = sorted(wanted - set(found))
        if absent:
            raise NotFoundError(f"prompt {name}@{version} pins snippet "
                                f"{absent[0][1]}@{absent[0][2]}, which is not released")
    return [found[key] for key in sorted(found, key=lambda k: f"{k[1]}@{k[2]}")]


def _ref(text: str, kind: str) -> tuple[str, str, str]:
    name, _, version = str(text).partition("@")
    return (kind, name, version)


def _refs(content: dict[str, Any]) -> list[tuple[str, str, str]]:
    refs = [_ref(content["model"], "model")]
    refs += [_ref(t, "tool") for t in content.get("tools") or []]
    if content.get("index"):
        refs.append(_ref(content["index"], "index"))
    return refs


def _contents(session: Session, keys: set[tuple[str, str, str]]
              ) -> dict[tuple[str, str, str], dict[str, Any]]:
    """The stored content of each released ``(kind, name, version)``; absent keys omitted."""
    return {key: json.loads(text) for key, (text, _) in _rows(session, keys).items()}


def _rows(session: Session, keys: set[tuple[str, str, str]]
          ) -> dict[tuple[str, str, str], tuple[str, str]]:
    """``(content, content hash)`` as stored for each released ``(kind, name, version)``;
    absent keys omitted."""
    stmt = select(ReleaseRecord.kind, ReleaseRecord.name, ReleaseRecord.version,
                  ReleaseRecord.content, ReleaseRecord.content_hash)  # type: ignore[call-overload]
    rows: list[Any] = []
    wanted = sorted(keys)
    for start in range(0, len(wanted), BATCH):  # in (kind, name) order: the index's prefix
        batch = wanted[start:start + BATCH]
        for kind in sorted({k for k, _, _ in batch}):
            names = sorted({n for k, n, _ in batch if k == kind})
            versions = sorted({v for k, _, v in batch if k == kind})
            query = stmt.where(ReleaseRecord.kind == kind,
                               ReleaseRecord.name.in_(names),  # type: ignore[attr-defined]
                               ReleaseRecord.version.in_(versions))  # type: ignore[attr-defined]
            rows += (r for r in session.exec(query) if (r[0], r[1], r[2]) in keys)
    return {(k, n, v): (c, h) for k, n, v, c, h in rows}

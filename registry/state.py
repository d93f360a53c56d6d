"""An environment's rollout state: a small document, changed by deltas, evaluated in memory.

The *state* of an environment holds, per prompt, what readers are served: ``stable``,
``canary``, ``percent``, ``stickiness``, the ``fingerprints`` of the versions it serves and
the ``change_id`` of the audit event that last changed it (about 200 bytes per prompt). The
bundles themselves are not in it: they are immutable and named by their fingerprint, so an
SDK fetches each one once (:mod:`promptctl.bundle_store`). After the first full state a
reader only receives *deltas*: the entries that changed since a change id it names.

The full document is laid out one prompt per line (still plain JSON)::

    {"change_id":7,"env":"production","format":2,"prompts":{
    "support":{"canary":null,"change_id":7,"fingerprints":{"1.0.0":"3f…"},"percent":0,…},
    "summarize":{…}
    }}

so a reader can index it by splitting lines and parse an entry only when a prompt is first
used; any other valid layout is read with one ``json.loads``. A delta is
``{"format":2,"env":…,"since":5,"change_id":7,"changes":{"support":{…} | null}}``.

The server (``promptctl.api.states``) and the SDK both evaluate a :class:`State`, so the API's
resolve endpoint and the SDK give every key the same answer. Like :mod:`promptctl.snapshot`,
this module is pure and light: the SDK imports it.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from mmh3 import hash as _mmh3

from promptctl.bucketing import DEFAULT_STICKINESS, in_rollout
from promptctl.errors import NotFoundError, UsageError, ValidationError
from promptctl.snapshot import (
    SNAPSHOT_FORMAT,
    ReleasedBundle,
    ResolvedBundle,
    _Rollout,
    shared_bundle,
    snapshot_etag,
)
from promptctl.state_entries import MARK, pack, packed_fingerprints, packed_json, unpack

__all__ = ["STATE_FORMAT", "STATE_MEDIA_TYPE", "BundleSource", "Snapshot", "State",
           "delta_doc", "entry_json", "state_etag"]

STATE_FORMAT = 2
STATE_MEDIA_TYPE = "application/vnd.promptctl.state+json"
_HEADER_END = b'"prompts":{\n'


class BundleSource(Protocol):
    """Where a state finds the bundle a fingerprint names (verified, parsed lazily)."""

    def bundle(self, fingerprint: str, where: Any = None) -> ReleasedBundle: ...


def state_etag(env: str, change_id: int) -> str:
    """The ETag of the state representation (the format-1 snapshot's is ``snapshot_etag``)."""
    return snapshot_etag(env, change_id)[:-1] + '-state"'


def entry_json(entry: Mapping[str, Any]) -> bytes:
    """One entry as the state document holds it: canonical, on one line."""
    return json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()


def delta_doc(env: str, since: int, change_id: int,
              changes: Mapping[str, Mapping[str, Any] | None]) -> dict[str, Any]:
    return {"format": STATE_FORMAT, "env": env, "since": since, "change_id": change_id,
            "changes": dict(changes)}


def _check_entry(name: str, entry: Any) -> dict[str, Any]:
    """The fields :meth:`State.resolve` relies on, checked when an entry is first read."""
    try:
        fingerprints = entry["fingerprints"]
        for version in (entry["stable"], entry.get("canary")):
            if version is not None and not isinstance(fingerprints[version], str):
                raise TypeError(f"fingerprint of {version} is not a string")
        if not isinstance(entry["stable"], str):
            raise TypeError("stable must be a version")
        int(entry.get("percent") or 0)
        int(entry.get("change_id") or 0)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"invalid state entry for {name!r}: {exc!r}") from None
    return dict(entry)


class State:
    """One environment's rollouts, changed in place by :meth:`apply`.

    Readers never lock: :meth:`resolve` is one dict lookup of a compiled rollout, and each
    change replaces a prompt's compiled rollout with one assignment. Entries are parsed and
    compiled on a prompt's first use; a change recompiles only the prompts it names, and
    reuses the bundles the store already holds, so a swap never recompiles the rest.
    """

    def __init__(self, env: str, change_id: int, entries: dict[str, bytes | dict[str, Any]],
                 bundles: BundleSource, *, header: Mapping[str, Any] | None = None) -> None:
        self.env = env
        self.change_id = change_id
        self.header: dict[str, Any] = dict(header or {})  # other top-level fields, kept as is
        # Each entry packed (state_entries: about half its JSON), or as its JSON line or
        # dict when it cannot be packed exactly (read, and checked, on first use).
        self._entries = {name: (pack(raw) or raw) if isinstance(raw, dict) else raw
                         for name, raw in entries.items()}
        self._compiled: dict[str, _Rollout] = {}
        self._bundles = bundles
        self._lock = threading.Lock()  # writers and first compiles; never the hot path
        self.pinned: Callable[[str, object, Mapping[str, object] | None, object],
                              ResolvedBundle] = _no_pins

    # -- reading ------------------------------------------------------------------------------

    @classmethod
    def parse(cls, data: bytes, bundles: BundleSource, *, legacy: bool = False) -> State:
        """A full state document, indexed by its lines when it has the line layout.

        With ``legacy``, a format-1 snapshot (bundles inline) is read too, its bundles
        put in ``bundles`` (see :func:`state_from_snapshot`).
        """
        fast = _split_lines(data)
        if fast is not None:
            header, entries = fast
        else:
            doc = _json_object(data)
            if legacy and doc.get("format") == 1:
                return state_from_snapshot(doc, bundles)
            if not isinstance(doc.get("prompts"), dict):
                raise ValidationError("invalid state: not a state document")
            entries = doc.pop("prompts")
            header = doc
        return cls.from_header(header, entries, bundles)

    @classmethod
    def from_header(cls, header: Mapping[str, Any], entries: dict[str, Any],
                    bundles: BundleSource) -> State:
        try:
            if header.get("format") != STATE_FORMAT:
                raise ValueError(f"unsupported state format {header.get('format')!r}")
            env, change_id = header["env"], int(header["change_id"])
            if not isinstance(env, str):
                raise TypeError("env must be a string")
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"invalid state: {exc}") from None
        rest = {k: v for k, v in header.items()
                if k not in ("format", "env", "change_id", "prompts")}
        return cls(env, change_id, entries, bundles, header=rest)

    @property
    def etag(self) -> str:
        return state_etag(self.env, self.change_id)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, name: str) -> dict[str, Any] | None:
        """The parsed entry of ``name``. Entries are kept packed (or as their JSON line):
        an entry is decoded when its prompt is compiled, and again only for introspection
        or persistence."""
        raw = self._entries.get(name)
        if raw is None or isinstance(raw, dict):
            return raw
        if raw[0] == MARK:
            return unpack(raw)
        try:
            return _check_entry(name, json.loads(raw))
        except ValueError as exc:
            raise ValidationError(f"invalid state entry for {name!r}: {exc}") from None

    def entries(self) -> Iterable[tuple[str, dict[str, Any]]]:
        """Every ``(name, entry)``, parsing those not read yet."""
        for name in list(self._entries):
            entry = self.entry(name)
            if entry is not None:
                yield name, entry

    def fingerprints(self) -> set[str]:
        """The fingerprints of every bundle this state serves (entries not parsed yet are
        read with a pattern: a full parse of 50,000 entries would cost far more)."""
        out: set[str] = set()
        for raw in list(self._entries.values()):
            out.update(_served(raw).values() if isinstance(raw, dict)
                       else packed_fingerprints(raw) if raw[0] == MARK
                       else raw_fingerprints(raw))
        return out

    def raw_entries(self) -> list[tuple[str, bytes | dict[str, Any]]]:
        """``(name, entry)`` with entries not parsed yet left as their bytes (packed, or
        their JSON line: ``raw[0] == MARK`` tells them apart)."""
        return list(self._entries.items())

    @property
    def doc(self) -> dict[str, Any]:
        """The whole document as plain data (introspection; the SDK never needs it)."""
        return {"format": STATE_FORMAT, "env": self.env, "change_id": self.change_id,
                **self.header, "prompts": dict(self.entries())}

    # -- evaluating ---------------------------------------------------------------------------

    def resolve(self, name: str, key: object = None,
                context: Mapping[str, object] | None = None, session: object = None
                ) -> ResolvedBundle:
        """The bundle ``key`` (a userId) or ``context`` gets under the current rollout;
        with ``session``, the one the SDK pinned to it (``pinned``, set by the Registry
        holding this state: see :mod:`promptctl.session_pins`)."""
        if session is not None:
            return self.pinned(name, key, context, session)
        rollout = self._compiled.get(name)
        if rollout is None:
            rollout = self.compile(name)
        canary = rollout[2]  # (name, stable, canary, percent, stickiness, by_user_id)
        if canary is None:
            return rollout[1]
        if context is None and key and rollout[5]:
            # bucketing.normalized_hash(str(key), name) <= percent, inlined (the hot path):
            # the same as in_rollout() with {"userId": key}, minus building a dict.
            return canary if _mmh3(f"{name}:{key}", 0, False) % 100 < rollout[3] else rollout[1]
        ctx = dict(context or {})
        if key is not None:
            ctx["userId"] = key
        hit = in_rollout(rollout.percent, name, ctx, rollout.stickiness)
        return canary if hit else rollout.stable

    def rollout(self, name: str) -> _Rollout:
        """The compiled rollout of ``name`` (stable, canary, percent, stickiness);
        ``NotFoundError`` when it has none here."""
        return self._compiled.get(name) or self.compile(name)

    def bundle_of(self, name: str, version: str) -> ResolvedBundle | None:
        """The bundle of ``name@version`` if it is live (stable or canary) here."""
        if name not in self._entries:
            return None
        rollout = self._compiled.get(name) or self.compile(name)
        for live in (rollout.stable, rollout.canary):
            if live is not None and live.version == version:
                return live
        return None

    def compile(self, name: str) -> _Rollout:
        """``name``'s rollout with its bundles, built on its first use (or ahead of it)."""
        with self._lock:
            rollout = self._compiled.get(name)
            if rollout is None:
                entry = self.entry(name)
                if entry is None:
                    raise NotFoundError(f"prompt {name!r} has no rollout in {self.env}")
                rollout = self._compiled[name] = self._build(name, entry)
            return rollout

    def _build(self, name: str, entry: Mapping[str, Any]) -> _Rollout:
        fingerprints, where = entry["fingerprints"], entry.get("at") or {}
        change_id = int(entry.get("change_id") or self.change_id)

        def bundle(version: str, variant: str) -> ResolvedBundle:
            fp = fingerprints[version]
            return ResolvedBundle(self.env, name, version, variant, fp,
                                  self._bundles.bundle(fp, where.get(fp)), change_id)

        canary = entry.get("canary")
        stickiness = entry.get("stickiness") or DEFAULT_STICKINESS
        return _Rollout(name=name, stable=bundle(entry["stable"], "stable"),
                        canary=bundle(canary, "canary") if canary else None,
                        percent=int(entry.get("percent") or 0), stickiness=stickiness,
                        by_user_id=stickiness == DEFAULT_STICKINESS)

    # -- changing -----------------------------------------------------------------------------

    def check_delta(self, delta: Mapping[str, Any]) -> str:
        """``"apply"`` when ``delta`` moves this state forward, ``"stale"`` when it holds
        nothing newer (from a replica that lags behind: never go back), ``"gap"`` when it
        starts after this state's change id (changes in between are missing).

        Raises ``ValidationError`` when it is not a delta of this environment.
        """
        try:
            if delta.get("format") != STATE_FORMAT or delta["env"] != self.env:
                raise ValueError(f"not a delta of {self.env}")
            since, change_id = int(delta["since"]), int(delta["change_id"])
            if not isinstance(delta["changes"], dict):
                raise TypeError("changes must be an object")
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"invalid delta: {exc}") from None
        if change_id <= self.change_id:
            return "stale"
        return "gap" if since > self.change_id else "apply"

    def apply(self, delta: Mapping[str, Any]) -> list[str]:
        """Apply a delta in place; returns the prompts it changed (none when it is stale).

        A delta from ``since`` to ``change_id`` holds the latest entry of each prompt changed
        in between, so it applies to any state whose change id lies in ``[since, change_id)``.
        The bundles of the new entries must be in the store before (the SDK fetches them
        first), since a prompt already in use is recompiled here, not on its next get().
        """
        verdict = self.check_delta(delta)
        if verdict == "gap":
            raise ValidationError(f"delta {delta['since']}..{delta['change_id']} does not "
                                  f"start at or before change {self.change_id}")
        if verdict == "stale":
            return []
        changes = {name: None if entry is None else _check_entry(name, entry)
                   for name, entry in delta["changes"].items()}
        with self._lock:
            for name, entry in changes.items():
                if entry is None:
                    self._entries.pop(name, None)
                    self._compiled.pop(name, None)
                    continue
                self._entries[name] = pack(entry) or entry
                if name in self._compiled:
                    self._compiled[name] = self._build(name, entry)
            self.change_id = int(delta["change_id"])
        return list(changes)

    # -- serialisation ------------------------------------------------------------------------

    def to_json(self, entries: Iterable[tuple[str, bytes | Mapping[str, Any]]] | None = None
                ) -> bytes:
        """The full document in the line layout (entries not parsed yet are copied as is);
        ``entries`` replaces this state's own (the SDK's files add where bundles are)."""
        header = {"format": STATE_FORMAT, "env": self.env, "change_id": self.change_id,
                  **self.header}
        head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
        items = self._entries.items() if entries is None else entries
        lines = [json.dumps(name).encode() + b":" +
                 (entry_json(raw) if not isinstance(raw, bytes)
                  else packed_json(raw) if raw[0] == MARK else raw)
                 for name, raw in sorted(items, key=lambda item: item[0])]
        return head[:-1] + b',"prompts":{\n' + b",\n".join(lines) + b"\n}}"


def _json_object(data: bytes | str) -> dict[str, Any]:
    """``data`` parsed, when it is a JSON object (a state or a snapshot document)."""
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ValidationError(f"invalid snapshot: not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise ValidationError("invalid snapshot: not a JSON object")
    return doc


def _no_pins(name: str, key: object, context: Mapping[str, object] | None,
             session: object) -> ResolvedBundle:
    raise UsageError("session pins belong to the SDK: use Registry.get(..., session=...)")


def _served(entry: Mapping[str, Any]) -> dict[str, str]:
    """``{version: fingerprint}`` of the versions ``entry`` serves."""
    fingerprints = entry["fingerprints"]
    return {v: fingerprints[v] for v in (entry["stable"], entry.get("canary")) if v}


def served_fingerprints(entry: Mapping[str, Any]) -> list[str]:
    return list(_served(entry).values())


def _split_lines(data: bytes) -> tuple[dict[str, Any], dict[str, bytes]] | None:
    """Header and packed entries of a document in the line layout; None for any other.

    Walks the lines with ``find`` rather than ``split``, and parses them a chunk of lines
    per ``json.loads`` (one call per line costs three times as much), packing each entry
    at once: the only objects that outlive a chunk are the packed entries.
    """
    cut = data.find(_HEADER_END)
    if cut < 0 or not data.endswith(b"\n}}"):
        return None
    try:
        header = json.loads(data[:cut] + b'"prompts":{}}')
    except ValueError:
        return None
    if not isinstance(header, dict):
        return None
    entries: dict[str, bytes] = {}
    chunk: list[tuple[str, int, int]] = []  # (name, start, stop) of each entry's line
    pos, last = cut + len(_HEADER_END), len(data) - 3
    find = data.find
    while pos < last:
        end = find(b"\n", pos, last + 1)
        if end < 0:
            return None
        stop = end - 1 if data[end - 1] == 44 else end  # 44: the comma between entries
        colon = find(b'":', pos, stop)
        if data[pos] != 34 or colon < 0 or data[stop - 1] != 125:  # '"' ... '}'
            return None
        name = data[pos + 1:colon]
        if b"\\" in name or b'"' in name:
            return None  # not the layout written by to_json(): read it the slow way
        chunk.append((name.decode(), pos, stop))
        if len(chunk) == _CHUNK:
            _pack_chunk(data, chunk, entries)
            chunk = []
        pos = end + 1
    _pack_chunk(data, chunk, entries)
    header.pop("prompts", None)
    return header, entries


_CHUNK = 256  # entry lines parsed per json.loads


def _pack_chunk(data: bytes, chunk: list[tuple[str, int, int]],
                entries: dict[str, bytes]) -> None:
    """Pack the entries of ``chunk`` (consecutive lines) into ``entries``. One that cannot
    be packed, or a chunk that does not parse, is kept as its line (a broken line fails on
    its prompt's first use, as before)."""
    if not chunk:
        return
    try:
        parsed = json.loads(b"{" + data[chunk[0][1]:chunk[-1][2]] + b"}")
    except ValueError:
        parsed = {}
    for name, start, stop in chunk:
        entry = parsed.get(name)
        packed = pack(entry) if isinstance(entry, dict) else None
        entries[name] = packed or data[start + len(name.encode()) + 3:stop]


_FINGERPRINT_OBJECT = rb'"fingerprints":\{([^{}]*)\}'
_FINGERPRINT = rb':"([0-9a-f]{64})"'


def raw_fingerprints(raw: bytes) -> list[str]:
    """The fingerprints a raw entry line lists (its served versions'), without parsing it
    (``re`` caches the compiled patterns; compiling them at import would cost every app)."""
    match = re.search(_FINGERPRINT_OBJECT, raw)
    return [fp.decode() for fp in re.findall(_FINGERPRINT, match.group(1))] if match else []


def state_from_snapshot(doc: Mapping[str, Any], store: Any) -> State:
    """The state of a format-1 snapshot (bundles inline), its bundles put in ``store``
    (``BundleStore.add_dict``: verified against their fingerprints when first used).

    This is how a format-1 file (``GET /v1/envs/{env}/snapshot`` as an older server or a
    script saved it) is read, and how the SDK talks to a server that predates states.
    """
    try:
        if doc.get("format") != 1:
            raise ValueError(f"unsupported snapshot format {doc.get('format')!r}")
        env, change_id = doc["env"], int(doc["change_id"])
        entries: dict[str, bytes | dict[str, Any]] = {}
        for name, item in doc["prompts"].items():
            fingerprints = {}
            for version, served in item["versions"].items():
                fp = str(served["fingerprint"])
                fingerprints[version] = fp
                store.add_dict(fp, served["bundle"])
            entries[name] = _check_entry(name, {
                "stable": item["stable"], "canary": item.get("canary"),
                "percent": int(item.get("percent") or 0),
                "stickiness": item.get("stickiness") or DEFAULT_STICKINESS,
                "fingerprints": fingerprints, "change_id": change_id})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValidationError(f"invalid snapshot: {exc}") from None
    return State(env, change_id, entries, store)


# -- the format-1 snapshot, a view of its state ----------------------------------------------


class _InlineBundles:
    """A format-1 snapshot's bundles (carried inline), as the :class:`State` of the snapshot
    reads them: through the process-wide cache of bundles by fingerprint."""

    def __init__(self) -> None:
        self._docs: dict[str, Mapping[str, Any]] = {}

    def add_dict(self, fingerprint: str, data: Mapping[str, Any]) -> None:
        self._docs[fingerprint] = data

    def bundle(self, fingerprint: str, where: Any = None) -> ReleasedBundle:
        return shared_bundle(fingerprint, self._docs[fingerprint])


class Snapshot:
    """A format-1 snapshot: a thin view of the :class:`promptctl.state.State` derived from
    it, so the stable/canary choice has one implementation (``State.resolve``, which
    ``resolve`` is bound to). Compiled whole at load, so a broken document fails here and
    not on a ``get()``; immutable, so readers share it without locks."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        try:
            if doc.get("format") != SNAPSHOT_FORMAT:
                raise ValueError(f"unsupported snapshot format {doc.get('format')!r}")
            self.doc = doc
            self.state = state_from_snapshot(doc, _InlineBundles())
            for name in self.state.names():
                self.state.compile(name)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValidationError(f"invalid snapshot: {exc}") from None
        except ValidationError as exc:  # an entry the state refused
            if exc.message.startswith("invalid snapshot"):
                raise
            raise ValidationError(f"invalid snapshot: {exc.message}") from None
        self.env: str = self.state.env
        self.change_id: int = self.state.change_id
        self.resolve = self.state.resolve  # type: ignore[method-assign]  # no call between

    @property
    def etag(self) -> str:
        return snapshot_etag(self.env, self.change_id)

    def names(self) -> list[str]:
        return self.state.names()

    def resolve(self, name: str, key: object = None,
                context: Mapping[str, object] | None = None) -> ResolvedBundle:
        """The bundle ``key`` (a userId) or ``context`` gets under the current rollout
        (``State.resolve``; this method is shadowed by it on every instance)."""
        return self.state.resolve(name, key, context)

    def bundle_of(self, name: str, version: str) -> ResolvedBundle | None:
        """The bundle of ``name@version`` if it is live (stable or canary) in this snapshot."""
        return self.state.bundle_of(name, version)

    # -- serialisation ------------------------------------------------------------------------

    def to_json(self) -> bytes:
        return json.dumps(self.doc, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Snapshot:
        return cls(_json_object(data))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Snapshot:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise NotFoundError(f"cannot read snapshot {path}: {exc.strerror}") from None
        return cls.from_json(data)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically (temp file + rename), so a crash never leaves half a file."""
        from promptctl.atomic_file import write_atomically

        write_atomically(Path(path), self.to_json())

"""A state entry packed into a few bytes, so a state of 50,000 prompts stays small in memory.

An entry as JSON is about 270 bytes (450 in the SDK's files, which also say where each bundle
is in the pack), and a parsed one is a dict of dicts of about 1.5 KB. Most of it is the two
fingerprints written as 64 hex digits and the keys repeated on every line. Packed, an entry
holds the same fields in about 130 bytes: the fingerprints as their 32 bytes, versions and
stickiness as short length-prefixed strings, numbers as fixed-size integers::

    0x00 | percent u8 | change_id i64 | count u8 | stable | canary | stickiness
         | count x (version | sha256 32 bytes | pack offset i64 (-1: none) | length u32)

(strings as u8 length + ASCII). :func:`pack` packs only the entries it can give back exactly
(the six fields a state entry has, plus ``at``, with plain ASCII versions); anything else
stays JSON, and a reader tells the two apart by the first byte (``{`` for JSON).

Pure standard library: the SDK imports it.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Mapping
from typing import Any

__all__ = ["MARK", "pack", "packed_fingerprints", "packed_json", "packed_spans", "unpack"]

MARK = 0
_KEYS = frozenset(("stable", "canary", "percent", "stickiness", "change_id", "fingerprints"))
_HEAD = struct.Struct("<BBqB")  # mark, percent, change_id, fingerprint count
_SPAN = struct.Struct("<qI")  # where the pack holds the bundle: offset, length
_PLAIN = re.compile(r"[A-Za-z0-9._+\-]{1,255}")  # needs no JSON escaping
_ALL = _KEYS | {"at"}
_NONE: dict[str, Any] = {}  # no "at" in the entry (an empty one cannot be given back)
_NOWHERE = _SPAN.pack(-1, 0)


_strings: dict[str, bytes] = {}  # versions and stickiness repeat on every entry
_MAX_STRINGS = 65_536


def _string(text: Any) -> bytes | None:
    if not isinstance(text, str) or _PLAIN.fullmatch(text) is None:
        return None
    packed = bytes((len(text),)) + text.encode("ascii")
    if len(_strings) < _MAX_STRINGS:
        _strings[text] = packed
    return packed


def _digest(fp: Any) -> bytes | None:
    """The 32 bytes of a fingerprint written as 64 lowercase hex digits (else None)."""
    try:
        digest = bytes.fromhex(fp)
    except (ValueError, TypeError):
        return None
    return digest if len(digest) == 32 and digest.hex() == fp else None


def pack(entry: Mapping[str, Any]) -> bytes | None:
    """``entry`` packed, or None when it cannot be given back exactly (keep it as JSON).

    On the load path of every state (about 4 µs an entry), hence the plain code."""
    size = len(entry)
    if not (size == 6 or (size == 7 and "at" in entry)) or not entry.keys() >= _KEYS:
        return None
    percent, change, fps = entry["percent"], entry["change_id"], entry["fingerprints"]
    at = entry.get("at", _NONE)
    canary = entry["canary"]
    if (type(percent) is not int or not 0 <= percent <= 255 or type(change) is not int
            or not -2**63 <= change < 2**63 or type(fps) is not dict or len(fps) > 255
            or type(at) is not dict or (not at and at is not _NONE)
            or entry["stable"] not in fps or (canary is not None and canary not in fps)):
        return None
    strings = _strings
    parts = [_HEAD.pack(MARK, percent, change, len(fps)),
             strings.get(entry["stable"]) or _string(entry["stable"]),
             b"\x00" if canary is None else strings.get(canary) or _string(canary),
             strings.get(entry["stickiness"]) or _string(entry["stickiness"])]
    placed = 0
    for version, fp in fps.items():
        span = at.get(fp)
        if span is None:
            where: bytes | None = _NOWHERE
        elif (type(span) is list and len(span) == 2 and type(span[0]) is int
              and type(span[1]) is int and 0 <= span[0] < 2**63 and 0 <= span[1] < 2**32):
            where = _SPAN.pack(*span)
            placed += 1
        else:
            return None
        parts += (strings.get(version) or _string(version), _digest(fp), where)
    if placed != len(at) or None in parts:
        return None
    return b"".join(parts)  # type: ignore[arg-type]  # no None left (checked above)


def _fields(raw: bytes) -> tuple[int, int, str, str | None, str,
                                 list[tuple[str, str, int, int]]]:
    """``(percent, change_id, stable, canary, stickiness, [(version, fp, offset, length)])``."""
    _, percent, change, count = _HEAD.unpack_from(raw)
    pos = _HEAD.size
    strings = []
    for _ in range(3):
        size = raw[pos]
        strings.append(raw[pos + 1:pos + 1 + size].decode("ascii"))
        pos += 1 + size
    served = []
    for _ in range(count):
        size = raw[pos]
        version = raw[pos + 1:pos + 1 + size].decode("ascii")
        pos += 1 + size
        fp = raw[pos:pos + 32].hex()
        offset, length = _SPAN.unpack_from(raw, pos + 32)
        pos += 32 + _SPAN.size
        served.append((version, fp, offset, length))
    stable, canary, stickiness = strings
    return percent, change, stable, canary or None, stickiness, served


def unpack(raw: bytes) -> dict[str, Any]:
    """The entry :func:`pack` packed, equal to the one it was given."""
    percent, change, stable, canary, stickiness, served = _fields(raw)
    entry: dict[str, Any] = {"stable": stable, "canary": canary, "percent": percent,
                             "stickiness": stickiness, "change_id": change,
                             "fingerprints": {v: fp for v, fp, _, _ in served}}
    at = {fp: [offset, length] for _, fp, offset, length in served if offset >= 0}
    if at:
        entry["at"] = at
    return entry


def packed_fingerprints(raw: bytes) -> list[str]:
    """The fingerprints a packed entry lists, without building the entry."""
    return [fp for _, fp, _, _ in _fields(raw)[5]]


def packed_spans(raw: bytes) -> list[tuple[str, tuple[int, int] | None]]:
    """``(fingerprint, (offset, length) or None)`` of each bundle a packed entry lists."""
    return [(fp, (offset, length) if offset >= 0 else None)
            for _, fp, offset, length in _fields(raw)[5]]


def packed_json(raw: bytes) -> bytes:
    """The entry's canonical JSON (``state.entry_json``), written without a dict: its
    strings are plain ASCII, so they need no escaping."""
    percent, change, stable, canary, stickiness, served = _fields(raw)
    at = ",".join(f'"{fp}":[{offset},{length}]' for _, fp, offset, length
                  in sorted(served, key=lambda item: item[1]) if offset >= 0)
    fps = ",".join(f'"{v}":"{fp}"' for v, fp, _, _ in sorted(served))
    return ((f'{{"at":{{{at}}},' if at else "{") +
            f'"canary":{f"{chr(34)}{canary}{chr(34)}" if canary else "null"},'
            f'"change_id":{change},"fingerprints":{{{fps}}},"percent":{percent},'
            f'"stable":"{stable}","stickiness":"{stickiness}"}}').encode("ascii")

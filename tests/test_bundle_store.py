"""The content-addressed bundle store: bytes are kept only under the fingerprint they hash
to, a damaged bundle on disk is refused, and only bundles no longer served are evicted."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from promptctl.bundle_store import BundleStore, Pack
from promptctl.canonical import canonical_json
from promptctl.errors import NotFoundError, ValidationError


def bundle_bytes(i: int) -> bytes:
    return canonical_json({"prompt": {"name": f"p{i}", "template": {"user": "x" * 500}},
                           "model": {"provider": "openai", "model": "m"}, "tools": [],
                           "index": None})


def fp(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def test_bytes_that_do_not_hash_to_a_wanted_fingerprint_are_refused() -> None:
    store = BundleStore()
    good, other = bundle_bytes(1), bundle_bytes(2)
    tampered = good.replace(b"openai", b"evil!!")
    assert store.add([tampered, other], wanted=[fp(good)]) == []
    assert store.refused == 2 and not store.has(fp(good))
    assert store.add([good], wanted=[fp(good)]) == [fp(good)]
    assert store.bundle(fp(good)).head[0]["provider"] == "openai"


def test_a_bundle_damaged_on_disk_is_refused_when_read(tmp_path: Path) -> None:
    raw = bundle_bytes(1)
    store = BundleStore(Pack(tmp_path / "b.pack"))
    store.add([raw])
    store.persist()
    where = store.where(fp(raw))
    assert where is not None
    data = (tmp_path / "b.pack").read_bytes()
    (tmp_path / "b.pack").write_bytes(data.replace(b"openai", b"0penai"))
    reopened = BundleStore(Pack(tmp_path / "b.pack"))
    assert not reopened.verify(fp(raw), where)
    with pytest.raises(ValidationError, match="does not match its fingerprint"):
        reopened.bundle(fp(raw), where)
    with pytest.raises(NotFoundError):
        reopened.bundle("0" * 64)


def test_inline_bundles_of_a_format_1_snapshot_are_verified_on_first_use() -> None:
    store = BundleStore()
    doc = json.loads(bundle_bytes(3))
    store.add_dict("f" * 64, doc)  # the wrong fingerprint
    with pytest.raises(ValidationError, match="does not match"):
        store.bundle("f" * 64)
    store.add_dict(fp(bundle_bytes(3)), doc)
    assert store.bundle(fp(bundle_bytes(3))).fingerprint == fp(bundle_bytes(3))


def test_retain_evicts_only_bundles_no_longer_served_and_keeps_the_objects_in_use() -> None:
    raws = [bundle_bytes(i) for i in range(20)]
    store = BundleStore(budget_bytes=len(raws[0]) * 5)
    store.add(raws)
    served = {fp(r) for r in raws[:10]}  # more than the budget: all of them stay
    in_use = {f: store.bundle(f) for f in served}
    assert store.retain(served) == 10
    assert all(store.has(f) for f in served) and not any(store.has(fp(r)) for r in raws[10:])
    assert all(store.bundle(f) is obj for f, obj in in_use.items())  # nothing re-parsed

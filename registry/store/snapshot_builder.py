"""Snapshot documents built from the database: the server's side of :mod:`promptctl.snapshot`.

The SDK only evaluates snapshots, so it imports :mod:`promptctl.snapshot` and never this
module; all the SQL of a snapshot lives here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from promptctl.bundle import resolve_bundle
from promptctl.catalog import Catalog
from promptctl.model import ArtifactKey, Prompt, Ref
from promptctl.snapshot import SNAPSHOT_FORMAT
from promptctl.store.db import Store
from promptctl.store.releases import load_released
from promptctl.store.tables import RolloutEvent, RolloutRecord


def change_id(session: Session, env: str) -> int:
    """The id of ``env``'s latest audit event (0 before the first change)."""
    stmt = select(func.max(RolloutEvent.id)).where(RolloutEvent.env == env)
    return int(session.exec(stmt).one() or 0)


def build_snapshot(store: Store, env: str) -> dict[str, Any]:
    """The snapshot document of ``env`` as stored now."""
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

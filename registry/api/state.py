"""What every request handler reaches: the parts one API process is built from.

:func:`promptctl.api.app.create_app` builds it and the routes read it, so it lives
apart from both: the app imports the routes, and neither imports the other back.
"""

from __future__ import annotations

from dataclasses import dataclass

from promptctl.api.auth import Authenticator
from promptctl.api.feed import ChangeFeed
from promptctl.api.middleware import Metrics
from promptctl.api.snapshots import SnapshotCache
from promptctl.config import Settings
from promptctl.local_service import LocalService
from promptctl.rollout import Rollouts
from promptctl.store import Store


@dataclass
class ApiState:
    settings: Settings
    store: Store
    rollouts: Rollouts
    service: LocalService  # the application layer every rollout/env/eval/token route calls
    feed: ChangeFeed
    snapshots: SnapshotCache
    authenticate: Authenticator
    metrics: Metrics
    keepalive: float

"""Persistence: SQLModel tables behind Alembic migrations (SQLite or PostgreSQL).

Every query lives in this package, as small functions taking a :data:`Session`; the
modules outside it (``promptctl.rollout``, ``promptctl.tokens``, the API) call those
functions and import no SQL library themselves.
"""

from sqlmodel import Session

from promptctl.store.db import Store, on_duplicate

__all__ = ["Session", "Store", "on_duplicate"]

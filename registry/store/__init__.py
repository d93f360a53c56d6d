"""Persistence: SQLModel tables behind Alembic migrations (SQLite or PostgreSQL).

Every query lives in this package, as small functions taking a session (the ORM:
releases, tokens, snapshots) or a Core connection (rollouts, :mod:`promptctl.store.rollouts`);
the modules outside it (``promptctl.rollout``, ``promptctl.tokens``, the API) call those
functions and import no SQL library themselves. Importing this package loads SQLAlchemy
Core only; SQLModel loads with the first ORM session or table.
"""

from promptctl.store.db import Store, on_duplicate

__all__ = ["Store", "on_duplicate"]

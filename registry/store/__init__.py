"""Persistence: SQLModel tables behind Alembic migrations (SQLite or PostgreSQL)."""

from registry.store.db import Store

__all__ = ["Store"]

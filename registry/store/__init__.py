"""Persistence: SQLModel tables behind Alembic migrations (SQLite or PostgreSQL)."""

from promptctl.store.db import Store

__all__ = ["Store"]

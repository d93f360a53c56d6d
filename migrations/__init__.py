"""Alembic revisions for the promptctl store (``promptctl db upgrade`` runs them)."""

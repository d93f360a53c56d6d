"""The lookup API (FastAPI): resolve, snapshot, events, rollout control, tokens, metrics."""

from registry.api.app import create_app

__all__ = ["create_app"]

"""The lookup API (FastAPI): resolve, snapshot, events, rollout control, tokens, metrics."""

from promptctl.api.app import create_app

__all__ = ["create_app"]

"""The web dashboard at ``/ui``: server-rendered pages over the same service and tokens as
the REST API (see docs/dashboard.md)."""

from promptctl.api.ui.routes import router

__all__ = ["router"]

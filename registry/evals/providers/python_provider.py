"""The ``python`` provider: the app's own call path, a function ``module:function``.

The function receives the :class:`~promptctl.evals.providers.base.ProviderRequest` and
returns a :class:`~promptctl.evals.providers.base.ProviderResponse`, a dict of its fields or
the output text. Modules are imported with the project root and the registry folder on
``sys.path``. The module file's SHA-256 is part of the provider's identity, so changing the
function invalidates cached answers.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from promptctl.errors import ProviderError, UsageError
from promptctl.evals.providers.base import ProviderRequest, ProviderResponse

_IMPORT_LOCK = threading.Lock()


def load_function(target: str, search: Sequence[Path]) -> tuple[Callable[..., Any], str | None]:
    """Import ``module:function`` with ``search`` on ``sys.path``; also the SHA-256 of the
    module's file (``None`` for a module without one)."""
    module_name, sep, function_name = target.partition(":")
    if not sep or not module_name or not function_name:
        raise UsageError(f"{target!r} is not module:function")
    with _IMPORT_LOCK:
        added = [str(p) for p in search if str(p) not in sys.path]
        sys.path[:0] = added
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise UsageError(f"cannot import {module_name!r} for {target!r}: {exc}") from None
        except Exception as exc:  # the module itself is broken: still one line
            raise UsageError(f"importing {module_name!r} failed: {type(exc).__name__}: "
                             f"{exc}") from None
        finally:
            for entry in added:
                if entry in sys.path:
                    sys.path.remove(entry)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise UsageError(f"{module_name!r} has no function {function_name!r}")
    source = getattr(module, "__file__", None)
    digest = hashlib.sha256(Path(source).read_bytes()).hexdigest() if source else None
    return function, digest


class PythonProvider:
    type = "python"
    cacheable = True

    def __init__(self, target: str, settings: dict[str, Any] | None = None,
                 search: Sequence[Path] = ()) -> None:
        self.target = target
        self.settings = dict(settings or {})
        self.function, self.source_sha256 = load_function(target, search)

    def identity(self) -> dict[str, Any]:
        return {"type": self.type, "target": self.target, "settings": self.settings,
                "source_sha256": self.source_sha256}

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        try:
            value = self.function(request)
        except ProviderError:
            raise
        except Exception as exc:
            raise ProviderError(f"{self.target} raised {type(exc).__name__}: {exc}",
                                retryable=False) from None
        try:
            return ProviderResponse.coerce(value)
        except (TypeError, ValueError) as exc:
            raise ProviderError(f"{self.target}: {exc}", retryable=False) from None

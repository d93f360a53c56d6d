"""The SDK is light: an app that imports it, or reads a saved snapshot, loads none of the
server's, the CLI's or the release pipeline's dependencies. Each check runs in a fresh
interpreter, so what the test process itself imported does not count."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from promptctl.rollout import Rollouts
from promptctl.state import Snapshot
from promptctl.store import Store
from promptctl.store.snapshot_builder import build_snapshot
from tests.conftest import Cli

# Never loaded by the SDK: the database, the server, the CLI, git, the release-time checks.
HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "fastapi", "starlette", "uvicorn", "typer",
         "rich", "click", "git", "jsonschema", "detect_secrets", "httpx", "yaml",
         "opentelemetry", "openfeature")
# Loaded on the first render(), not at import and not by get().
ON_RENDER = ("jinja2", "pydantic")

REPORT = """
import json, sys
top = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps(top))
"""


def loaded_after(code: str) -> set[str]:
    """Top-level modules held by a fresh interpreter after running ``code``."""
    result = subprocess.run([sys.executable, "-c", code + REPORT], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1]))


@pytest.fixture
def snapshot_file(released: Cli, tmp_path: Path) -> Path:
    """A saved snapshot of production with support 1.0.0 stable and 1.1.0 at 50%."""
    store = Store.open(released.db)
    try:
        rollouts = Rollouts(store)
        rollouts.promote("production", "support", "1.0.0")
        rollouts.promote("production", "support", "1.1.0", percent=50)
        path = tmp_path / "snapshot.json"
        Snapshot(build_snapshot(store, "production")).save(path)
    finally:
        store.dispose()
    return path


def test_importing_the_sdk_loads_no_heavy_dependency() -> None:
    loaded = loaded_after("import promptctl.client\nfrom promptctl import Registry\n")
    assert loaded.isdisjoint(HEAVY + ON_RENDER), sorted(loaded & set(HEAVY + ON_RENDER))
    assert "http" not in loaded, "http.client loads when a Registry is configured, not at import"


def test_a_lookup_from_a_saved_snapshot_loads_no_heavy_dependency(snapshot_file: Path) -> None:
    loaded = loaded_after(f"""
from promptctl import Registry
reg = Registry.from_snapshot({str(snapshot_file)!r})
bundle = reg.get("support", key="user-1")
assert bundle.version in ("1.0.0", "1.1.0") and len(bundle.fingerprint) == 64
assert bundle.model and bundle.tools and bundle.trace()["prompt"] == "support"
""")
    assert loaded.isdisjoint(HEAVY + ON_RENDER), sorted(loaded & set(HEAVY + ON_RENDER))


def test_render_loads_the_template_engine_on_first_use_only(snapshot_file: Path) -> None:
    loaded = loaded_after(f"""
from promptctl import Registry
bundle = Registry.from_snapshot({str(snapshot_file)!r}).get("support", key="user-1")
messages = bundle.render(customer="Ann", question="Where is my parcel?")
assert messages[0]["role"] == "system" and "Ann" in messages[1]["content"], messages
""")
    assert {"jinja2", "pydantic"} <= loaded
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_the_sdk_renders_what_the_validated_bundle_renders(snapshot_file: Path) -> None:
    """The SDK builds its prompt without validation; the messages are the same as those of
    the validated bundle the server built, and variables are still type-checked."""
    from promptctl.bundle import Bundle
    from promptctl.errors import RenderError

    snapshot = Snapshot.load(snapshot_file)
    for key in ("user-1", "user-2", "user-3"):
        light = snapshot.resolve("support", key)
        validated = Bundle.from_dict(light.bundle.to_dict())
        values = {"customer": "Ann", "question": "Where is my parcel?", "order_id": "A-1"}
        assert light.render(**values) == validated.render(**values)
        assert validated.fingerprint == light.fingerprint
        with pytest.raises(RenderError, match="missing required"):
            light.render(question="?")
        with pytest.raises(RenderError, match="must be string"):
            light.render(customer=5, question="?")

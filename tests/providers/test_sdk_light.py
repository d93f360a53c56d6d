"""The provider mappings keep the SDK light: producing kwargs loads no vendor SDK and no
jsonschema; only parse() loads jsonschema. Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptctl.bundle import Bundle
from promptctl.snapshot import SNAPSHOT_FORMAT
from promptctl.state import Snapshot
from tests.providers.bundles import SUPPORT_VALUES, example_doc
from tests.test_sdk_imports import HEAVY, loaded_after

VENDORS = ("openai", "anthropic", "litellm")


@pytest.fixture(scope="module")
def snapshot_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    doc = example_doc()
    entry = {"fingerprint": Bundle.from_dict(doc).fingerprint, "bundle": doc}
    path = tmp_path_factory.mktemp("snap") / "snapshot.json"
    Snapshot({"format": SNAPSHOT_FORMAT, "env": "production", "change_id": 1,
              "prompts": {"support": {"stable": "1.0.0", "versions": {"1.0.0": entry}}}}
             ).save(path)
    return path


def test_call_kwargs_load_no_vendor_sdk_and_no_jsonschema(snapshot_file: Path) -> None:
    loaded = loaded_after(f"""
from promptctl import Registry
bundle = Registry.from_snapshot({str(snapshot_file)!r}).get("support", key="u")
kwargs = bundle.openai(**{SUPPORT_VALUES!r})
assert kwargs["tools"] and kwargs["response_format"] and len(kwargs["messages"]) == 2
bundle.litellm(**{SUPPORT_VALUES!r})
""")
    assert loaded.isdisjoint(HEAVY + VENDORS), sorted(loaded & set(HEAVY + VENDORS))


def test_parse_loads_jsonschema_on_first_use_only(snapshot_file: Path) -> None:
    answer = json.dumps({"choices": [{"message": {"content": json.dumps(
        {"answer": "a", "sources": []})}, "finish_reason": "stop"}]})
    loaded = loaded_after(f"""
import json
from promptctl import Registry
bundle = Registry.from_snapshot({str(snapshot_file)!r}).get("support", key="u")
assert bundle.parse(json.loads({answer!r})).data == {{"answer": "a", "sources": []}}
""")
    assert "jsonschema" in loaded
    assert loaded.isdisjoint(set(VENDORS) | {"httpx", "fastapi", "sqlalchemy"})

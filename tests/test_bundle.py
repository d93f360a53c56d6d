"""Bundles and fingerprints: same content, same fingerprint, on any machine."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from promptctl.bundle import Bundle, resolve_bundle
from promptctl.catalog import Catalog, Entry
from promptctl.errors import RenderError
from promptctl.limits import DEFAULT_LIMITS
from promptctl.model import artifact_from_content
from promptctl.templating import refresh_render_limits

MODEL = {"kind": "model", "name": "chat", "version": "1.0.0", "description": "chat",
         "provider": "openai", "model": "gpt-4o-mini",
         "params": {"temperature": 0.2, "max_tokens": 512}}
TOOL = {"kind": "tool", "name": "search-kb", "version": "1.0.0", "description": "search",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                       "required": ["query"]}}
INDEX = {"kind": "index", "name": "kb-docs", "version": "1.0.0", "description": "docs",
         "backend": "pgvector", "uri": "postgresql://db/kb",
         "embedding_model": "text-embedding-3-small", "build": "2026-11-01T00:00Z"}
PROMPT = {"kind": "prompt", "name": "support", "version": "1.0.0", "description": "support",
          "model": "chat@1.0.0", "tools": ["search-kb@1.0.0"], "index": "kb-docs@1.0.0",
          "variables": {"customer": {"type": "string"}, "order_id": {"type": "string",
                                                                      "default": ""}},
          "template": {"system": "You are a helpful support agent.",
                       "user": "Customer {{ customer }} asks about order {{ order_id }}."}}

# Computed once from the canonical JSON above; a change here means every deployed
# fingerprint would change, which must never happen by accident.
GOLDEN_FINGERPRINT = "2c7b8d82c85c597859e57c4509f11b13dda1453f1215413c148e0f07a28006ee"


def catalog() -> Catalog:
    return Catalog(Entry(artifact_from_content(d)) for d in (MODEL, TOOL, INDEX, PROMPT))


def bundle() -> Bundle:
    cat = catalog()
    return resolve_bundle(cat.find("prompt/support").artifact, cat)  # type: ignore[arg-type]


def test_fingerprint_is_the_golden_value():
    assert bundle().fingerprint == GOLDEN_FINGERPRINT


def test_fingerprint_ignores_key_order_and_omitted_defaults():
    reordered = dict(reversed(list(PROMPT.items()))) | {"metadata": {}}
    cat = Catalog(Entry(artifact_from_content(d)) for d in (MODEL, TOOL, INDEX, reordered))
    b = resolve_bundle(cat.find("prompt/support").artifact, cat)  # type: ignore[arg-type]
    assert b.fingerprint == GOLDEN_FINGERPRINT


def test_fingerprint_changes_when_a_pinned_ref_changes_content():
    changed = MODEL | {"params": {"temperature": 0.3, "max_tokens": 512}}
    cat = Catalog(Entry(artifact_from_content(d)) for d in (changed, TOOL, INDEX, PROMPT))
    b = resolve_bundle(cat.find("prompt/support").artifact, cat)  # type: ignore[arg-type]
    assert b.fingerprint != GOLDEN_FINGERPRINT


def test_bundle_round_trips_through_its_dict():
    original = bundle()
    assert Bundle.from_dict(original.to_dict()).fingerprint == original.fingerprint


def test_bundle_renders_its_prompt():
    messages = bundle().render(customer="Ann", order_id="42")
    assert messages[1]["content"] == "Customer Ann asks about order 42."


def hostile_bundle(template: str) -> Bundle:
    """A bundle as an app receives it from a snapshot, with a hostile user template."""
    data = bundle().to_dict()
    data["prompt"] = data["prompt"] | {"template": {"user": template}}
    return Bundle.from_dict(data)


@pytest.mark.parametrize(("template", "message"), [
    ("{{ customer * 10**10 }}", "'*' would build about 30000000000 characters"),
    ("{{ (customer|length) ** 999999999 }}", "'**' would build an integer"),
    ("{{ (customer|list) * 100000000 }}", "'*' would build about"),
    ("{{ " + "(" * 5000 + "customer" + ")" * 5000 + " }}", "expression nests 5000 deep"),
    ("{{ customer" + "|trim" * 5000 + " }}", "template nests too deeply to compile"),
    ("{% for i in [1] %}" * 25 + "{{ customer }}" + "{% endfor %}" * 25,
     "blocks nest 25 deep"),
])
def test_an_app_rendering_a_hostile_bundle_gets_a_render_error(template: str, message: str):
    with pytest.raises(RenderError, match=re.escape(message)) as info:
        hostile_bundle(template).render(customer="Ann")
    assert "\n" not in info.value.message


def test_an_app_changes_render_limits_with_environment_variables(
        monkeypatch: pytest.MonkeyPatch):
    wide = hostile_bundle("{{ customer * 1000 }}")
    assert len(wide.render(customer="Ann")[-1]["content"]) == 3000
    monkeypatch.setenv("PROMPTCTL_MAX_RENDER_CHARS", "2000")
    refresh_render_limits()  # else read again within a second
    with pytest.raises(RenderError, match=r"more than max_render_chars \(2000\)"):
        wide.render(customer="Ann")
    monkeypatch.setenv("PROMPTCTL_RENDER_TIMEOUT_SECONDS", "0.1")
    refresh_render_limits()
    spin = hostile_bundle("{% for a in range(300) %}{% for b in range(300) %}"
                          "{% for c in range(300) %}{% endfor %}{% endfor %}{% endfor %}")
    with pytest.raises(RenderError, match=r"longer than 0.1 s"):
        spin.render(customer="Ann")
    monkeypatch.undo()
    assert refresh_render_limits() == DEFAULT_LIMITS


def test_limits_bound_each_render_in_its_own_thread():
    """The deadline is per render (a context variable), so a spinning render in one thread
    does not stop a quick one in another."""
    spin = hostile_bundle("{% for a in range(300) %}{% for b in range(300) %}"
                          "{% for c in range(300) %}{% endfor %}{% endfor %}{% endfor %}")
    quick = bundle()
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(spin.render, customer="Ann")
        results = [pool.submit(quick.render, customer="Ann", order_id="1") for _ in range(20)]
        assert all(r.result()[1]["content"] == "Customer Ann asks about order 1."
                   for r in results)
        with pytest.raises(RenderError, match="render_timeout_seconds"):
            slow.result()

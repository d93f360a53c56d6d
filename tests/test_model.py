"""Artifact model: names, versions, refs, and load -> dump -> load identity."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptctl.loader import parse_document
from promptctl.model import Prompt, Ref, Variable
from promptctl.yaml_io import dump_content


def test_ref_must_be_pinned_exactly():
    assert Ref.parse("chat@1.2.0") == Ref("chat", "1.2.0")
    for bad in ("chat", "chat@^1.2.0", "chat@~1.2", "chat@1.x", "chat@1.2", "Chat@1.0.0"):
        with pytest.raises(ValueError):
            Ref.parse(bad)


def test_prerelease_versions_are_semver():
    assert Ref.parse("chat@2.0.0-rc.1").version == "2.0.0-rc.1"


def test_content_omits_defaults_so_optional_fields_do_not_change_hashes():
    base = {"kind": "prompt", "name": "p", "version": "1.0.0", "description": "d",
            "model": "m@1.0.0", "template": {"user": "hi"}}
    explicit = base | {"tools": [], "metadata": {}}
    assert Prompt.model_validate(base).content_hash() == \
        Prompt.model_validate(explicit).content_hash()


def test_variable_default_must_match_type():
    with pytest.raises(ValueError, match="not of type integer"):
        Variable.model_validate({"type": "integer", "default": "five"})


# -- round trip ---------------------------------------------------------------------------------

names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)
versions = st.builds(lambda a, b, c: f"{a}.{b}.{c}", *(st.integers(0, 50),) * 3)
text = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="{}%#"),
               max_size=60)
scalars = st.one_of(st.integers(-1000, 1000), st.booleans(), text,
                    st.floats(allow_nan=False, allow_infinity=False, width=32))
var_names = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)


@st.composite
def prompts(draw: st.DrawFn) -> dict:
    variables = draw(st.dictionaries(var_names, st.sampled_from(["string", "integer"]),
                                     min_size=1, max_size=4))
    user = " ".join(f"{{{{ {name} }}}}" for name in variables)
    return {
        "kind": "prompt", "name": draw(names), "version": draw(versions),
        "description": draw(text),
        "model": f"{draw(names)}@{draw(versions)}",
        "tools": [f"tool{i}@{draw(versions)}" for i in range(draw(st.integers(0, 2)))],
        "variables": {n: {"type": t} for n, t in variables.items()},
        "template": {"system": draw(text), "user": draw(text) + " " + user},
        "metadata": draw(st.dictionaries(var_names, scalars, max_size=3)),
    }


@st.composite
def models(draw: st.DrawFn) -> dict:
    return {"kind": "model", "name": draw(names), "version": draw(versions),
            "description": draw(text), "provider": draw(text), "model": draw(text),
            "params": draw(st.dictionaries(var_names, scalars, max_size=4))}


@settings(max_examples=150, deadline=None)
@given(st.one_of(prompts(), models()))
def test_load_dump_load_is_identity(data: dict):
    first, findings = parse_document(f"x.{data['kind']}.yaml", dump_content(data))
    assert first is not None, findings
    second, _ = parse_document(f"x.{data['kind']}.yaml", dump_content(first.content()))
    assert second is not None
    assert second.content() == first.content()
    assert second.content_hash() == first.content_hash()

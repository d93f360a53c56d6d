"""Artifact model: names, versions, refs, and load -> dump -> load identity."""

from __future__ import annotations

import os
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError as PydanticValidationError

from promptctl.loader import parse_document
from promptctl.model import (
    MAX_VERSION_LENGTH,
    ModelConfig,
    Prompt,
    Ref,
    Variable,
    check_name,
    check_version,
)
from promptctl.refnames import refname_problem, tag_problem
from promptctl.store.tables import ReleaseRecord, RolloutRecord
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

names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True).filter(
    lambda n: ".." not in n and not n.endswith(".lock"))
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


# -- names and versions that git refuses as tag names -------------------------------------------

BASE = {"kind": "model", "name": "chat", "version": "1.0.0", "description": "d",
        "provider": "openai", "model": "m"}


@pytest.mark.parametrize("name", ["a..b", "evil.lock", "chat\n", "chat\r", "-chat", ".chat",
                                  "Chat", "a" * 65, "a b", "a/b", "a@{b"])
def test_names_git_refuses_as_tags_are_refused(name: str):
    with pytest.raises(ValueError, match="not a valid name"):
        check_name(name)
    with pytest.raises(PydanticValidationError):
        ModelConfig.model_validate(BASE | {"name": name})


@pytest.mark.parametrize("version", ["1.0.0+x.lock", "1.0.0-rc.lock", "1.0.0\n", "v1.0.0",
                                     "1.0.0-" + "a" * 123, "1.0"])
def test_versions_git_or_the_store_would_refuse_are_refused(version: str):
    with pytest.raises(ValueError):
        check_version(version)
    with pytest.raises(PydanticValidationError):
        ModelConfig.model_validate(BASE | {"version": version})


def test_the_longest_version_fits_the_store_column_on_every_backend():
    longest = "1.0.0-" + "a" * (MAX_VERSION_LENGTH - 6)
    assert check_version(longest) == longest
    assert ReleaseRecord.model_fields["version"].metadata[0].max_length == MAX_VERSION_LENGTH
    assert RolloutRecord.model_fields["stable"].metadata[0].max_length >= MAX_VERSION_LENGTH


@pytest.mark.parametrize("ref", ["a..b@1.0.0", "evil.lock@1.0.0", "chat\n@1.0.0",
                                 "chat@1.0.0+x.lock", "chat@1.0.0\n", "chat@1.0.0-" + "a" * 130])
def test_refs_get_the_same_checks_as_names_and_versions(ref: str):
    with pytest.raises(ValueError):
        Ref.parse(ref)


def test_a_prerelease_with_an_x_is_a_version_not_a_range():
    assert Ref.parse("chat@1.0.0-fix.1").version == "1.0.0-fix.1"
    with pytest.raises(ValueError, match="not pinned exactly"):
        Ref.parse("chat@1.x")


def test_every_valid_name_and_version_make_a_tag_git_accepts():
    for name in ("a", "a.b", "a-b_c", "x" * 64, "a.", "0"):
        for version in ("0.0.0", "1.2.3-rc.1+build.5", "1.0.0-" + "z" * 122):
            assert tag_problem(ModelConfig.model_validate(
                BASE | {"name": name, "version": version}).key.tag) is None


# -- git's ref-name rules, compared with git itself ---------------------------------------------

ref_chars = st.sampled_from([*"ab0./-_@{}.~^:?*[\\ \t\x7f\x01\n", "lock", ".lock", "é"])
ref_names = st.lists(ref_chars, max_size=12).map(lambda parts: "refs/tags/" + "".join(parts))


def git_accepts(refname: str) -> bool:
    proc = subprocess.run(["git", "check-ref-format", refname], capture_output=True, check=False)
    return proc.returncode == 0


@settings(max_examples=int(os.environ.get("PROMPTCTL_FUZZ_EXAMPLES", "60")), deadline=None)
@given(ref_names)
def test_refname_rules_agree_with_git_check_ref_format(refname: str):
    assert (refname_problem(refname) is None) == git_accepts(refname), refname


@pytest.mark.parametrize("refname", ["refs/tags/model/a..b/v1.0.0", "refs/tags/x.lock/v1",
                                     "refs/tags/a/.b", "refs/tags/a.", "refs/tags//a", "@",
                                     "refs/tags/a@{b", "refs/tags/a b", "refs/tags/a\nb", "a",
                                     "refs/tags/model/chat/v1.0.0", "refs/tags/é/v1"])
def test_refname_rules_on_known_cases(refname: str):
    assert (refname_problem(refname) is None) == git_accepts(refname)

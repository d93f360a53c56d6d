"""The YAML reader: bounded, JSON data only, strict UTF-8 — every refusal one line with a line
number, never an exception other than ``yaml.YAMLError`` / ``NotText``."""

from __future__ import annotations

import time

import pytest
import yaml

from promptctl.limits import Limits
from promptctl.yaml_io import (
    DuplicateKeyError,
    NotText,
    PyStrictLoader,
    StrictLoader,
    YamlRefused,
    decode_text,
    load_yaml,
    yaml_error_message,
)


def refusal(text: str, limits: Limits | None = None) -> str:
    with pytest.raises(yaml.YAMLError) as info:
        load_yaml(text, limits or Limits())
    message = yaml_error_message(info.value)
    assert "\n" not in message
    return message


def alias_bomb(levels: int = 9) -> str:
    """The classic "billion laughs": 9 ** levels strings from a few hundred bytes."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


# -- bounds -------------------------------------------------------------------------------------


def test_an_alias_bomb_is_refused_while_composing_in_a_few_milliseconds():
    bomb = alias_bomb()
    assert len(bomb) < 800
    started = time.perf_counter()
    message = refusal(bomb)
    assert time.perf_counter() - started < 0.5
    assert "more than 100000 YAML nodes" in message and "alias" in message


def test_aliases_count_as_copies_against_the_node_limit():
    text = "a: &x [1, 2, 3, 4]\nb: [*x, *x, *x]\n"  # 1 + (1 + 5) + (1 + 1 + 3 * 5) nodes
    assert load_yaml(text, Limits(max_yaml_nodes=24))["b"][2] == [1, 2, 3, 4]
    assert "more than 23 YAML nodes" in refusal(text, Limits(max_yaml_nodes=23))


def test_nesting_deeper_than_the_limit_is_refused_with_its_position():
    assert load_yaml("a: " + "[" * 10 + "]" * 10, Limits(max_yaml_depth=11))
    message = refusal("a: " + "[" * 10 + "]" * 10, Limits(max_yaml_depth=10))
    assert message == "the document nests deeper than 10 levels (line 1, column 13)"
    assert "nest" in refusal("[" * 5000 + "]" * 5000)  # libyaml's own limit may come first
    assert "deeper than 64" in refusal("a:\n" + "".join(f"{' ' * i}- \n" for i in range(1, 80)))


def test_an_alias_adds_its_depth_where_it_is_used():
    text = "a: &x [[[1]]]\nb: [[*x]]\n"
    assert load_yaml(text, Limits(max_yaml_depth=6))
    assert "deeper than 5" in refusal(text, Limits(max_yaml_depth=5))


def test_a_recursive_alias_is_refused():
    assert "cycle" in refusal("a: &x [1, *x]\n")


# -- merge keys ---------------------------------------------------------------------------------


def test_merge_keys_merge_and_own_keys_win():
    text = "base: &b {x: 1, y: 2}\nmore:\n  <<: *b\n  y: 3\n"
    assert load_yaml(text)["more"] == {"x": 1, "y": 3}
    many = "a: &a {x: 1}\nb: &b {z: 2}\nc:\n  <<: [*a, *b]\n"
    assert load_yaml(many)["c"] == {"x": 1, "z": 2}


def test_merged_mappings_count_against_the_node_limit():
    text = "a: &a {x: 1, y: 2, z: 3}\nb: {<<: *a}\nc: {<<: *a}\n"
    assert "YAML nodes" in refusal(text, Limits(max_yaml_nodes=12))


def test_merge_key_outside_a_mapping_key_is_refused():
    assert "only works as a mapping key" in refusal("a: <<\n")


# -- JSON data only -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["!!binary aGVsbG8=", "!!set {a, b}", "!!omap [a: 1]",
                                   "!!pairs [a: 1]", "!!python/object:os.system x",
                                   "!!timestamp 2026-01-01", "!custom x", "!!str {a: 1}"])
def test_tags_that_are_not_json_data_are_refused(value: str):
    message = refusal(f"x: {value}\n")
    assert "is not supported: artifacts hold plain JSON data" in message
    assert "(line 1, column 4)" in message


@pytest.mark.parametrize("value", [".nan", ".NaN", ".inf", "-.inf", "+.Inf", "1.0e+400"])
def test_nan_and_infinity_are_refused(value: str):
    assert "not a finite number" in refusal(f"temperature: {value}\n")


def test_integers_must_fit_in_64_bits_even_with_thousands_of_digits():
    assert load_yaml("n: 9223372036854775807\n") == {"n": 9223372036854775807}
    assert "does not fit in 64 bits" in refusal("n: -9223372036854775809\n")
    assert "does not fit in 64 bits" in refusal("n: " + "9" * 5000 + "\n")


@pytest.mark.parametrize("text", ["? [a, b]\n: 1\n", "? {a: 1}\n: 1\n", "[a, b]: 1\n"])
def test_complex_keys_are_refused(text: str):
    assert "mapping keys must be strings" in refusal(text)


@pytest.mark.parametrize("key", ["1", "1.5", "true", "null", "~", "on"])
def test_keys_must_be_strings_so_keys_differing_only_in_type_cannot_collide(key: str):
    message = refusal(f"m: {{{key}: a, '{key}': b}}\n")
    assert "not a string" in message
    assert load_yaml(f"m: {{'{key}': a}}\n") == {"m": {key: "a"}}


def test_a_key_given_twice_is_refused():
    with pytest.raises(DuplicateKeyError):
        load_yaml("a: 1\nb: 2\na: 3\n")
    assert refusal("a: 1\na: 2\n") == "key 'a' appears twice (line 2, column 1)"


def test_strings_with_nul_are_refused_because_postgresql_cannot_store_them():
    assert "NUL" in refusal('x: "a\\0b"\n')


def test_timestamps_and_equals_signs_stay_strings():
    assert load_yaml("build: 2026-11-01T00:00Z\nop: =\n") == {"build": "2026-11-01T00:00Z",
                                                            "op": "="}


def test_refusals_carry_a_code_and_a_fix():
    with pytest.raises(YamlRefused) as info:
        load_yaml(alias_bomb())
    assert info.value.code == "too-large" and "PROMPTCTL_MAX_YAML_NODES" in info.value.fix


# -- bytes --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "message"), [
    (b"kind: model\ndescription: \xff\xfe\n", "not valid UTF-8 (byte 0xff on line 2)"),
    ("kind: model\n".encode("utf-16"), "UTF-16 text"),
    ("kind: model\n".encode("utf-32"), "UTF-32 text"),
    (b"kind: model\n\x00\x01\x02", "NUL byte (line 2)"),
])
def test_bytes_that_are_not_utf8_text_are_refused(data: bytes, message: str):
    with pytest.raises(NotText, match=message.replace("(", r"\(").replace(")", r"\)")):
        decode_text(data)


def test_a_utf8_byte_order_mark_is_dropped():
    assert decode_text(b"\xef\xbb\xbfkind: model\n") == "kind: model\n"


# -- libyaml and pure Python agree --------------------------------------------------------------

SAMPLES = ["a: 1\n", "a: &b {x: 1}\nc: {<<: *b, y: 2}\n", "x: !!binary aGVsbG8=\n",
           "x: .nan\n", "? [a, b]\n: 1\n", "{1: a}\n", "a: 1\na: 2\n", "x: &a [*a]\n",
           "n: " + "9" * 5000 + "\n", "a: " + "[" * 70 + "]" * 70 + "\n", alias_bomb(),
           'x: "\\0"\n', "build: 2026-01-01\n", "x: <<\n", "x: [unclosed\n"]


@pytest.mark.parametrize("text", SAMPLES)
def test_the_pure_python_reader_applies_the_same_rules(text: str):
    def outcome(loader_class: type[PyStrictLoader]) -> object:
        try:
            return load_yaml(text, loader_class=loader_class)
        except YamlRefused as exc:
            return type(exc), exc.problem
        except yaml.YAMLError:
            return yaml.YAMLError

    assert outcome(PyStrictLoader) == outcome(StrictLoader)

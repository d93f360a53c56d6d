"""The API's path and body patterns are the core's name rules, not copies of them."""

from __future__ import annotations

from typing import Annotated

import pytest
from pydantic import Field, TypeAdapter
from pydantic import ValidationError as PydanticError

from promptctl.api.params import ENV_NAME, NAME
from promptctl.env_names import env_name_problem
from promptctl.model import NAME_RE

SAMPLES = ["support", "a", "a" * 64, "a" * 65, "Bad", "qa\n", "-x", "x.y_z-1", "", "é"]


def _accepts(pattern: str, value: str) -> bool:
    """As FastAPI checks a path parameter: pydantic's pattern, where ``$`` ends the text."""
    try:
        TypeAdapter(Annotated[str, Field(pattern=pattern)]).validate_python(value)
    except PydanticError:
        return False
    return True


@pytest.mark.parametrize("value", SAMPLES)
def test_an_environment_in_a_url_is_valid_exactly_when_the_core_says_so(value: str) -> None:
    assert _accepts(ENV_NAME, value) == (env_name_problem(value) is None)


@pytest.mark.parametrize("value", SAMPLES)
def test_a_prompt_name_in_a_url_matches_the_artifact_name_rule(value: str) -> None:
    assert _accepts(NAME, value) == bool(NAME_RE.match(value))

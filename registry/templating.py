"""Sandboxed Jinja2 templates: parsing, variable discovery, typed rendering.

Templates come from files anyone can open a pull request against, so they are
rendered in Jinja's ``SandboxedEnvironment`` (no attribute tricks such as
``{{ ''.__class__ }}``) with ``StrictUndefined`` (a missing variable is an
error, never an empty string sent to a model).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from promptctl.errors import RenderError
from promptctl.model import Prompt, Variable, value_matches_type

# trim_blocks/lstrip_blocks: a line holding only a `{% if %}` tag leaves no blank line
# behind, which is what authors of multi-line prompts expect.
_ENV = SandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
    trim_blocks=True, lstrip_blocks=True,
)


def parse_template(source: str) -> nodes.Template:
    """Parse ``source``; raises ``jinja2.TemplateSyntaxError`` (with ``lineno``)."""
    return _ENV.parse(source)


def template_variables(source: str) -> set[str]:
    """Names a template reads from its context (loop variables excluded)."""
    return set(meta.find_undeclared_variables(parse_template(source)))


def syntax_error_message(exc: TemplateSyntaxError) -> str:
    return f"template does not parse at line {exc.lineno}: {exc.message}"


@lru_cache(maxsize=4096)
def _compiled(source: str) -> Any:
    return _ENV.from_string(source)


def check_values(variables: dict[str, Variable], values: dict[str, Any]) -> dict[str, Any]:
    """Validate ``values`` against the declared variables and apply defaults.

    Refuses undeclared names, missing required ones and wrongly typed values,
    naming every problem at once so a caller fixes them in one go.
    """
    problems: list[str] = []
    extra = sorted(set(values) - set(variables))
    if extra:
        problems.append(f"undeclared variable(s): {', '.join(extra)}")
    missing = sorted(n for n, v in variables.items() if v.required and n not in values)
    if missing:
        problems.append(f"missing required variable(s): {', '.join(missing)}")
    for name, value in values.items():
        decl = variables.get(name)
        if decl is not None and not value_matches_type(value, decl.type):
            problems.append(f"variable {name} must be {decl.type}, got {type(value).__name__}")
    if problems:
        raise RenderError("; ".join(problems))
    merged = {n: v.default for n, v in variables.items() if not v.required}
    merged.update(values)
    return merged


def render_prompt(prompt: Prompt, values: dict[str, Any]) -> list[dict[str, str]]:
    """Render ``prompt`` to chat messages ``[{role, content}]``."""
    context = check_values(prompt.variables, values)
    messages = []
    for role, source in prompt.template.parts():
        try:
            content = _compiled(source).render(context)
        except SecurityError as exc:
            raise RenderError(f"template {role} refused by the sandbox: {exc}") from None
        except UndefinedError as exc:
            raise RenderError(f"template {role}: {exc.message}") from None
        except TemplateSyntaxError as exc:
            raise RenderError(f"template {role}: {syntax_error_message(exc)}") from None
        except Exception as exc:  # a filter failing on a value, e.g. int("x")
            raise RenderError(f"template {role} failed: {type(exc).__name__}: {exc}") from None
        messages.append({"role": role, "content": content})
    return messages


def coerce_cli_value(decl: Variable | None, text: str) -> Any:
    """Turn a ``--var k=v`` string into the declared type (JSON for arrays/objects)."""
    if decl is None or decl.type == "string":
        return text
    try:
        if decl.type == "integer":
            return int(text)
        if decl.type == "number":
            return float(text)
        if decl.type == "boolean":
            lowered = text.lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            raise ValueError(text)
        return json.loads(text)
    except ValueError:
        raise RenderError(f"value {text!r} is not a valid {decl.type}") from None

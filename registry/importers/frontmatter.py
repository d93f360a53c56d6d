"""YAML front matter (``---`` … ``---``) followed by a body, as Dotprompt and Prompty
write it. The body keeps its bytes: only the front matter is parsed."""

from __future__ import annotations

import re
from typing import Any

import yaml

from promptctl.errors import ValidationError
from promptctl.yaml_io import NotText, decode_text, load_yaml, yaml_error_message

_FENCE = re.compile(r"^---[ \t]*(\r\n|\n|\r)")
_CLOSE = re.compile(r"^---[ \t]*(?:\r\n|\n|\r|\Z)", re.M)


def split_front_matter(data: bytes, where: str) -> tuple[dict[str, Any], bytes]:
    """``(front matter, body bytes)``; a file without front matter is all body."""
    try:
        text = decode_text(data)
    except NotText as exc:
        raise ValidationError(f"{where}: {exc}") from None
    bom = len(data) - len(text.encode("utf-8"))  # a BOM decode_text dropped
    match = _FENCE.match(text)
    if match is None:
        return {}, data[bom:]
    end = _CLOSE.search(text, match.end())
    if end is None:
        raise ValidationError(f"{where}: the front matter opened with --- is never closed")
    try:
        meta = load_yaml(text[match.end():end.start()]) or {}
    except yaml.YAMLError as exc:
        raise ValidationError(f"{where}: front matter: {yaml_error_message(exc)}") from None
    if not isinstance(meta, dict):
        raise ValidationError(f"{where}: the front matter must be a YAML mapping")
    return meta, text[end.end():].encode("utf-8")

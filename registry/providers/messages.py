"""Chat messages (``render()`` output) laid out the way each API wants them.

OpenAI's Chat Completions takes the list as it is, in order. Anthropic has one top-level
``system`` and turns that start with a user turn and alternate; the Responses API takes
leading system messages as ``instructions``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptctl.errors import CallArgsError

Message = Mapping[str, Any]
TURN_ROLES = ("user", "assistant")


def anthropic_layout(messages: Sequence[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """``(system, messages)``: every system message joined into ``system`` (in order),
    the others as turns, consecutive turns of one role merged into one turn of blocks."""
    system = [str(m["content"]) for m in messages if m["role"] == "system"]
    turns: list[dict[str, Any]] = []
    for message in messages:
        role = message["role"]
        if role == "system":
            continue
        extra = sorted(set(message) - {"role", "content"})
        if extra:
            raise CallArgsError(f"anthropic messages have only role and content; a {role} "
                                f"message has {', '.join(extra)}",
                                detail={"role": role, "provider": "anthropic"})
        if role not in TURN_ROLES:
            raise CallArgsError(f"anthropic has no {role!r} message role; use user or "
                                "assistant", detail={"role": role, "provider": "anthropic"})
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] = _blocks(turns[-1]["content"]) + _blocks(message["content"])
        else:
            turns.append({"role": role, "content": message["content"]})
    if not turns or turns[0]["role"] != "user":
        raise CallArgsError("anthropic needs the first non-system message to be a user "
                            "message", detail={"provider": "anthropic"})
    return ("\n\n".join(system) if system else None), turns


def _blocks(content: Any) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return list(content)


def responses_layout(messages: Sequence[Message]) -> tuple[str | None, list[dict[str, Any]]]:
    """``(instructions, input)``: the leading system messages become ``instructions``;
    the rest stay input messages, in order (a later system message keeps its place)."""
    lead = 0
    while lead < len(messages) and messages[lead]["role"] == "system":
        lead += 1
    instructions = "\n\n".join(str(m["content"]) for m in messages[:lead]) or None
    items = [dict(m) for m in messages[lead:]]
    return instructions, items

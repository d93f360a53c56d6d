"""Synthetic registries for benchmarks: a realistic mix of the four kinds."""

from __future__ import annotations

from pathlib import Path

from promptctl.yaml_io import dump_content


def artifact_contents(n: int) -> list[dict]:
    """``n`` valid artifacts: 10% models, 20% tools, 10% indexes, 60% prompts pinning them."""
    models = max(1, n // 10)
    tools = max(1, n // 5)
    indexes = max(1, n // 10)
    prompts = max(0, n - models - tools - indexes)
    out: list[dict] = []
    for i in range(models):
        out.append({"kind": "model", "name": f"model-{i}", "version": "1.0.0",
                    "description": f"model {i}", "provider": "openai", "model": "gpt-4o-mini",
                    "params": {"temperature": 0.2, "max_tokens": 256 + i}})
    for i in range(tools):
        out.append({"kind": "tool", "name": f"tool-{i}", "version": "1.0.0",
                    "description": f"tool {i}",
                    "parameters": {"type": "object",
                                   "properties": {"query": {"type": "string"}},
                                   "required": ["query"]}})
    for i in range(indexes):
        out.append({"kind": "index", "name": f"index-{i}", "version": "1.0.0",
                    "description": f"index {i}", "backend": "pgvector",
                    "uri": f"postgresql://db/idx{i}", "embedding_model": "e5",
                    "build": "2026-11-01"})
    for i in range(prompts):
        out.append({"kind": "prompt", "name": f"prompt-{i}", "version": "1.0.0",
                    "description": f"prompt {i}", "model": f"model-{i % models}@1.0.0",
                    "tools": [f"tool-{i % tools}@1.0.0"], "index": f"index-{i % indexes}@1.0.0",
                    "variables": {"question": {"type": "string"}},
                    "template": {"system": f"You are assistant number {i}.",
                                 "user": "Answer: {{ question }}"}})
    return out


def write_registry(folder: Path, contents: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for data in contents:
        path = folder / f"{data['name']}.{data['kind']}.yaml"
        path.write_text(dump_content(data), encoding="utf-8")

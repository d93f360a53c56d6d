#!/usr/bin/env bash
# Regenerate the example PR comment of docs/review.md from this repository's prompts/:
# a temp git repo gets prompts/ as committed on main, then one commit with the edits
# described in docs/review.md; prints `promptctl diff --format markdown main HEAD`.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
promptctl="${PROMPTCTL:-$here/.venv/bin/promptctl}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
git init -q -b main
git config user.name "Example" && git config user.email "example@example.com"
git -C "$here" archive main prompts | tar -x
git add -A && git commit -qm "example prompts"
git checkout -qb tune-support
python3 - <<'PY'
from pathlib import Path

def edit(path, *pairs):
    p = Path(path)
    text = p.read_text()
    for old, new in pairs:
        assert old in text, (path, old)
        text = text.replace(old, new, 1)
    p.write_text(text)

edit("prompts/support.prompt.yaml",
     ("version: 1.0.0", "version: 1.1.0"),
     ("model: support-chat@1.0.0", "model: support-chat@1.0.1"),
     ("search-kb@1.0.0", "search-kb@1.1.0"),
     ("(use the search-kb tool) and cite the article titles you used.\n",
      "(use the search-kb tool, in the customer's language) and cite the article\n"
      "    titles you used.\n"))
edit("prompts/search-kb.tool.yaml",
     ("version: 1.0.0", "version: 1.1.0"),
     ("  required: [query]", "    language:\n      type: string\n"
      "      description: ISO 639-1 code of the language to search in\n  required: [query]"))
edit("prompts/support-chat.model.yaml",
     ("version: 1.0.0", "version: 1.0.1"), ("temperature: 0.2", "temperature: 0.3"))
PY
git commit -qam "support: search in the customer's language"
"$promptctl" diff --format markdown main HEAD

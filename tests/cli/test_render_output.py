"""``promptctl render`` prints each message exactly: no wrapping, cropping or markup."""

from __future__ import annotations

import json

import yaml

from tests.conftest import Cli

LONG_LINE = " ".join(f"word{i:03d}" for i in range(72))[:500]  # one 500-character line
TRICKY = "Keep [bold]markup[/bold], `code` and    spaces  as written."


def write_long_prompt(cli: Cli) -> None:
    prompt = {"kind": "prompt", "name": "long", "version": "0.1.0", "description": "long lines",
              "model": "support-chat@1.0.0", "variables": {"topic": {"type": "string"}},
              "template": {"system": f"{LONG_LINE}\n{TRICKY}\n",
                           "user": "Tell me about {{ topic }}."}}
    (cli.root / "prompts" / "long.prompt.yaml").write_text(
        yaml.safe_dump(prompt, sort_keys=False, width=10_000), encoding="utf-8")


def test_render_prints_a_500_character_line_whole_on_an_80_column_terminal(cli: Cli):
    write_long_prompt(cli)
    assert len(LONG_LINE) == 500
    result = cli("render", "long", "--var", "topic=tides", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert LONG_LINE in lines and TRICKY in lines
    assert "--- system ---" in lines and "--- user ---" in lines
    assert "Tell me about tides." in lines


def test_render_prints_message_text_byte_for_byte_under_a_plain_role_header(cli: Cli):
    write_long_prompt(cli)
    result = cli("render", "long", "--var", "topic=tides", env={"COLUMNS": "80"})
    system = f"{LONG_LINE}\n{TRICKY}\n"
    assert result.stdout.startswith(f"--- system ---\n{system}--- user ---\n"
                                    "Tell me about tides.\n")


def test_render_json_carries_the_exact_text(cli: Cli):
    write_long_prompt(cli)
    result = cli("render", "long", "--var", "topic=tides", "--json", env={"COLUMNS": "80"})
    messages = json.loads(result.stdout)["messages"]
    assert messages[0]["content"] == f"{LONG_LINE}\n{TRICKY}\n"

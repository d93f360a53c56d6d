"""The static command table of ``promptctl.cli.app`` (what ``--help`` lists without
importing any command module) says exactly what the command modules register: the same
names, in the same modules, with the same one-line help. So the table cannot drift, and a
new ``cli/*_cmds.py`` module without its line in the table fails here."""

from __future__ import annotations

from pathlib import Path

import typer.main
from typer.testing import CliRunner

from promptctl.cli import app as app_module
from promptctl.cli.app import COMMANDS, app, registered

CLI_DIR = Path(app_module.__file__).parent


def real_commands(module_name: str) -> dict[str, str]:
    """Every top-level command module ``module_name`` registers, with its one-line help,
    built by Typer the ordinary (eager) way."""
    group = typer.main.get_group(registered(module_name))
    return {name: command.get_short_help_str(limit=10_000)
            for name, command in group.commands.items()}


def test_every_command_module_is_in_the_table() -> None:
    modules = {path.stem for path in CLI_DIR.glob("*_cmds.py")}
    assert modules == {module for module, _ in COMMANDS.values()}


def test_the_table_names_each_module_s_commands_with_their_help() -> None:
    for module in {module for module, _ in COMMANDS.values()}:
        in_table = {name: text for name, (owner, text) in COMMANDS.items() if owner == module}
        assert in_table == real_commands(module), module


def test_help_lists_every_command_of_the_table_in_its_order() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    rows = result.output.split("Commands:", 1)[1].strip().splitlines()
    assert [row.split()[0] for row in rows] == list(COMMANDS)


def test_a_typo_still_gets_a_suggestion_from_commands_not_yet_loaded() -> None:
    result = CliRunner().invoke(app, ["rollbak"])
    assert result.exit_code == 2
    assert "No such command 'rollbak'. Did you mean 'rollback'?" in result.output
    assert "Traceback" not in result.output

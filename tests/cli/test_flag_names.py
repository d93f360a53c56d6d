"""The core's errors name a setting by meaning; the CLI prints its own flag for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptctl.api.server import bind_socket, with_overrides
from promptctl.cli.app import app
from promptctl.config import load_settings
from promptctl.errors import UsageError
from promptctl.limits import DEFAULT_LIMITS
from tests.cli.expect import one_line_error


@pytest.mark.parametrize(("raise_it", "setting"), [
    (lambda: bind_socket("127.0.0.1", 70000), "port"),
    (lambda: bind_socket("999.999.999.999", 0), "host"),
    (lambda: with_overrides(DEFAULT_LIMITS, header_timeout_seconds=0), "header_timeout_seconds"),
    (lambda: load_settings(Path("/no/such/folder")), "repo"),
])
def test_a_core_error_names_its_setting_and_no_cli_flag(raise_it, setting: str) -> None:
    with pytest.raises(UsageError) as caught:
        raise_it()
    assert caught.value.setting == setting
    assert "--" not in caught.value.message, caught.value.message


def test_the_cli_adds_its_flag_to_the_error_in_text_and_in_json(tmp_path: Path) -> None:
    missing = tmp_path / "gone"
    result = CliRunner().invoke(app, ["--repo", str(missing), "status"])
    one_line_error(result, 2, f"the project folder {missing} does not exist (--repo)")
    result = CliRunner().invoke(app, ["--repo", str(missing), "status", "--json"])
    assert result.exit_code == 2
    body = json.loads(result.stderr or result.output)
    assert body["error"] == "usage" and body["detail"].endswith("(--repo)"), body

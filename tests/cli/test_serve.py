"""``promptctl serve`` binds its port before it says anything: a taken port is one error
line and exit 5, a bad port or option one error line and exit 2, and never a "serving"
line or a traceback first. Real processes on real loopback ports."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import git
import httpx
import pytest

from tests.rollout_fixtures import PROMPTCTL

pytestmark = pytest.mark.slow


@pytest.fixture
def serve_args(example_repo: git.Repo, tmp_path: Path) -> list[str]:
    return [str(PROMPTCTL), "--repo", str(example_repo.working_tree_dir),
            "--db", f"sqlite:///{tmp_path / 'registry.db'}", "serve"]


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PROMPTCTL_")}


def run(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a serve that must fail: it exits on its own, well within the timeout."""
    return subprocess.run(args, capture_output=True, text=True, timeout=60, env=clean_env())


def assert_one_error_line(result: subprocess.CompletedProcess[str], code: int, *words: str
                          ) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == code, output
    assert "serving" not in output and "Traceback" not in output, output
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    for word in words:
        assert word in lines[0], output


def test_a_taken_port_is_one_error_line_and_exit_5(serve_args: list[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run([*serve_args, "--port", str(port)])
    assert_one_error_line(result, 5, f"127.0.0.1:{port}", "already in use")


@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_a_port_out_of_range_is_one_error_line_and_exit_2(serve_args: list[str], port: str
                                                           ) -> None:
    assert_one_error_line(run([*serve_args, "--port", port]), 2, "(--port)", port)


@pytest.mark.parametrize(("option", "value"), [
    ("--host", "999.999.999.999"),
    ("--host", "192.0.2.1"),  # a documentation address: valid, but not this machine's
    ("--header-timeout", "0"),
    ("--body-timeout", "-3"),
    ("--idle-timeout", "nan"),
    ("--max-connections", "0"),
    ("--log-level", "loud"),
])
def test_a_bad_option_is_one_error_line_and_exit_2(serve_args: list[str], option: str,
                                                    value: str) -> None:
    result = run([*serve_args, "--port", "0", f"{option}={value}"])
    assert_one_error_line(result, 2, option)


def test_serving_is_printed_once_the_port_is_bound(serve_args: list[str]) -> None:
    """``--port 0`` takes any free port and says which; the server answers there."""
    process = subprocess.Popen([*serve_args, "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=clean_env())
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("serving ") and "http://127.0.0.1:" in line, line
        url = line.split(" on ")[1].split()[0]
        assert not url.endswith(":0")
        # the socket listens already, so the first request waits for the app, not fails
        assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200
    finally:
        process.terminate()
        process.wait(10)
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


@pytest.mark.parametrize(("toml", "words"), [
    ('[limits]\nheader_timeout_seconds = "soon"\n', ["limits.header_timeout_seconds"]),
    ("[limits]\nmax_connections = 0\n", ["limits.max_connections"]),
    ("limits = 5\n", ["limits must be a table"]),
])
def test_bad_limits_in_promptctl_toml_stop_serve_before_it_binds(
        serve_args: list[str], example_repo: git.Repo, toml: str, words: list[str]) -> None:
    (Path(str(example_repo.working_tree_dir)) / "promptctl.toml").write_text(toml)
    assert_one_error_line(run([*serve_args, "--port", "0"]), 2, *words)

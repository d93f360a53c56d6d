"""The built wheel installs one import package, ``promptctl``, and nothing generic.

An app that installs promptctl for the SDK has its own ``migrations`` (every Django
app) and often a ``cli``: the wheel must not put such names on its import path, and
promptctl must not pick up the app's packages by those names.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                    str(REPO_ROOT)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("promptctl-*.whl")
    return built


def test_the_wheel_has_promptctl_as_its_only_top_level_package(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
        assert archive.read(top_level).decode().split() == ["promptctl"]
    packages = {n.split("/", 1)[0] for n in names if n.endswith(".py")}
    assert packages == {"promptctl"}
    assert "promptctl/py.typed" in names
    assert "promptctl/migrations/script.py.mako" in names


def test_sdk_and_cli_import_beside_an_apps_own_migrations_and_cli(wheel: Path,
                                                                 tmp_path: Path) -> None:
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    app = tmp_path / "app"
    for package in ("migrations", "cli", "registry"):
        (app / package).mkdir(parents=True)
        (app / package / "__init__.py").write_text("raise ImportError('the app package')\n")
    probe = (
        "import promptctl, promptctl.client, promptctl.cli.app, promptctl.store.db as db\n"
        "from promptctl import Registry\n"
        "print(promptctl.__file__); print(db._migrations_dir())\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            env={"PYTHONPATH": f"{app}:{unpacked}", "PATH": "/usr/bin:/bin"},
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    module_file, migrations_dir = result.stdout.split()
    assert Path(module_file).is_relative_to(unpacked)
    assert (Path(migrations_dir) / "versions").is_dir()
    assert Path(migrations_dir).is_relative_to(unpacked)


def test_the_wheel_ships_the_dashboards_templates_and_static_files(wheel: Path) -> None:
    ui = REPO_ROOT / "registry" / "api" / "ui"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    shipped = {f"promptctl/api/ui/{p.relative_to(ui).as_posix()}"
               for folder in ("templates", "static") for p in (ui / folder).iterdir()}
    assert shipped <= names, sorted(shipped - names)
    for name in ("htmx.min.js", "htmx-ext-sse.min.js", "htmx-LICENSE.txt", "ui.css"):
        assert f"promptctl/api/ui/static/{name}" in names
    assert "promptctl/api/ui/templates/overview.html" in names
    assert not [n for n in names if n.endswith("axe.min.js")]  # test data only

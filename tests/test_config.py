"""Configuration is validated in one place: every bad key is named, all at once, exit 2.

Each refused configuration leaves the project as it was: no ``.promptctl/`` folder and no
database are created.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptctl.cli.app import app
from promptctl.config import MEMORY_DB_URL, load_settings
from promptctl.errors import UsageError
from promptctl.limits import DEFAULT_LIMITS
from tests.cli.expect import one_line_error
from tests.conftest import make_repo


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git work tree with a registry folder and no database yet."""
    root = Path(make_repo(tmp_path / "project").working_tree_dir)
    (root / "prompts").mkdir()
    return root


def run(root: Path, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--repo", str(root), *args], env=env,
                              catch_exceptions=False)


def assert_nothing_written(root: Path) -> None:
    assert not (root / ".promptctl").exists()


@pytest.mark.parametrize(("toml", "fragment"), [
    ('environments = "x"', "promptctl.toml: environments must be a table"),
    ("environments = [1, 2]", "promptctl.toml: environments must be a table"),
    ("[environments]\nproduction = 3", "promptctl.toml: environments.production must be a table"),
    ('[environments."qa\\n"]', "'qa\\n' is not a valid environment name"),
    ("[environments.QA]", "'QA' is not a valid environment name"),
    ("[environments.production]\nrequire_eval = 3",
     "environments.production.require_eval must be true, false or the name of an eval suite"),
    ("[environments.production]\nrequire_evals = true",
     "environments.production has no key 'require_evals'"),
    ('[review]\ntoken_growth_percent = "lots"', "review.token_growth_percent must be a number"),
    ("[review]\ntoken_growth_percent = -1", "review.token_growth_percent must be a number ≥ 0"),
    ("[review]\ntoken_growth_min_tokens = 1.5",
     "review.token_growth_min_tokens must be an integer"),
    ("[review]\ntoken_growth_min_tokens = true",
     "review.token_growth_min_tokens must be an integer"),
    ('review = "strict"', "promptctl.toml: review must be a table"),
    ('unleash = "x"', "promptctl.toml: unleash must be a table"),
    ('[unleash]\nurl = "ftp://unleash"', "unleash.url 'ftp://unleash' is not an http(s) URL"),
    ("[unleash]\nadmin_token = 5", "unleash.admin_token must be a non-empty string"),
    ('[unleash]\nproject = "p"', "unleash has no key 'project'"),
    ("url = 5", "promptctl.toml: url must be a string (an http(s) URL), got int 5"),
    ('url = "localhost:8700"', "url 'localhost:8700' is not an http(s) URL"),
    ("db = 7", "promptctl.toml: db must be a non-empty string, got int 7"),
    ('db = ""', "promptctl.toml: db must be a non-empty string"),
    ("registry_dir = []", "promptctl.toml: registry_dir must be a non-empty string"),
    ('flags = "launchdarkly"', "promptctl.toml: flags must be one of: builtin, unleash"),
    ("token = 12", "promptctl.toml: token must be a non-empty string"),
    ('limits = "none"', "promptctl.toml: limits must be a table"),
    ('[limits]\nmax_file_bytes = "big"', "limits.max_file_bytes must be a positive int"),
    ("[limits]\nmax_bytes = 1", "[limits] has no key 'max_bytes'"),
    ("enviroments = {}", "promptctl.toml: unknown key 'enviroments'"),
])
@pytest.mark.parametrize("command", [("status",), ("list",), ("release",)])
def test_a_wrong_type_in_promptctl_toml_names_the_key_exits_2_and_writes_nothing(
        project: Path, toml: str, fragment: str, command: tuple[str, ...]) -> None:
    (project / "promptctl.toml").write_text(toml + "\n", encoding="utf-8")
    one_line_error(run(project, *command), 2, "invalid configuration (1 problem): ", fragment)
    assert_nothing_written(project)


def test_every_problem_is_reported_at_once(project: Path) -> None:
    (project / "promptctl.toml").write_text(
        'environments = "x"\nurl = 5\nunleash = "x"\n[review]\ntoken_growth_percent = "x"\n',
        encoding="utf-8")
    line = one_line_error(run(project, "status", env={"PROMPTCTL_FLAGS": "nope"}), 2,
                          "invalid configuration (5 problems): ")
    for key in ("PROMPTCTL_FLAGS", "environments", "url", "unleash", "review."):
        assert key in line
    assert_nothing_written(project)


@pytest.mark.parametrize(("name", "value", "fragment"), [
    ("PROMPTCTL_URL", "not a url", "PROMPTCTL_URL 'not a url' is not a URL"),
    ("PROMPTCTL_URL", "localhost:8700", "PROMPTCTL_URL 'localhost:8700' is not an http(s) URL"),
    ("PROMPTCTL_URL", "http://host:99999", "PROMPTCTL_URL 'http://host:99999' is not a valid URL"),
    ("PROMPTCTL_URL", "http://", "is not an http(s) URL"),
    ("PROMPTCTL_TOKEN", "pct_tökén", "PROMPTCTL_TOKEN must be printable ASCII"),
    ("PROMPTCTL_TOKEN", "pct_a b", "PROMPTCTL_TOKEN must be printable ASCII"),
    ("PROMPTCTL_FLAGS", "flagsmith", "PROMPTCTL_FLAGS must be one of: builtin, unleash"),
    ("PROMPTCTL_MAX_FILE_BYTES", "-1", "PROMPTCTL_MAX_FILE_BYTES must be a positive int"),
    ("PROMPTCTL_UNLEASH_URL", "unleash", "PROMPTCTL_UNLEASH_URL 'unleash' is not an http(s)"),
])
def test_a_malformed_environment_variable_names_itself_exits_2_and_writes_nothing(
        project: Path, name: str, value: str, fragment: str) -> None:
    env = {name: value}
    if name == "PROMPTCTL_TOKEN":
        env["PROMPTCTL_URL"] = "http://127.0.0.1:1"
    one_line_error(run(project, "status", env=env), 2, fragment)
    assert_nothing_written(project)


def test_a_rejected_token_is_never_echoed(project: Path) -> None:
    line = one_line_error(run(project, "status", env={"PROMPTCTL_URL": "http://127.0.0.1:1",
                                                      "PROMPTCTL_TOKEN": "pct_s3cr3t\u00e9"}), 2)
    assert "s3cr3t" not in line


def test_a_valid_configuration_reaches_its_consumers_typed(project: Path) -> None:
    (project / "promptctl.toml").write_text(
        '[environments.qa]\nrequire_eval = "smoke"\n'
        "[review]\ntoken_growth_percent = 30\ntoken_growth_min_tokens = 10\n"
        '[unleash]\nurl = "http://127.0.0.1:4242"\nadmin_token = "*:*.abc"\n'
        "[limits]\nmax_file_bytes = 2048\n", encoding="utf-8")
    settings = load_settings(project, db=None)
    assert settings.environments == {"qa": {"require_eval": "smoke"}}
    assert settings.extra["review"] == {"token_growth_percent": 30, "token_growth_min_tokens": 10}
    assert settings.extra["unleash"]["url"] == "http://127.0.0.1:4242"
    assert settings.limits.max_file_bytes == 2048
    assert settings.limits.max_template_bytes == DEFAULT_LIMITS.max_template_bytes


def test_a_variable_overrides_the_file_but_a_bad_file_value_is_still_reported(
        project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "promptctl.toml").write_text("url = 5\n", encoding="utf-8")
    monkeypatch.setenv("PROMPTCTL_URL", "http://127.0.0.1:8700")
    with pytest.raises(UsageError, match=r"promptctl\.toml: url must be a string"):
        load_settings(project)
    (project / "promptctl.toml").write_text('url = "http://file:1"\n', encoding="utf-8")
    assert load_settings(project).url == "http://127.0.0.1:8700"


# -- SQLite URI URLs --------------------------------------------------------------------------


def test_a_sqlite_uri_url_is_passed_through_not_made_a_path(project: Path) -> None:
    url = "sqlite:///file:registry.db?mode=ro&uri=true"
    assert load_settings(project, db=url).db_url == url
    plain = load_settings(project, db="sqlite:///rel.db").db_url
    assert plain == f"sqlite:///{(project / 'rel.db').resolve()}"


def test_a_read_only_sqlite_uri_reads_an_existing_database_and_creates_nothing(
        project: Path, tmp_path: Path) -> None:
    (project / "promptctl.toml").write_text("", encoding="utf-8")
    (project / "prompts" / "t.tool.yaml").write_text(
        "kind: tool\nname: t\nversion: 1.0.0\ndescription: a tool\n"
        "parameters: {type: object}\n", encoding="utf-8")
    repo_db = tmp_path / "registry.db"
    import git
    repo = git.Repo(project)
    repo.git.add("-A")
    repo.git.commit("-m", "t")
    assert run(project, "--db", f"sqlite:///{repo_db}", "release").exit_code == 0
    before = sorted(p.name for p in tmp_path.iterdir())
    uri = f"sqlite:///file:{repo_db}?mode=ro&uri=true"
    result = run(project, "--db", uri, "list", "--json")
    assert result.exit_code == 0, result.output
    assert '"released": [\n      "1.0.0"' in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not list(project.glob("file:*")) and not (project / ".promptctl").exists()


def test_a_read_only_command_reads_a_missing_sqlite_file_as_empty(project: Path) -> None:
    settings = load_settings(project, read_only=True)
    assert settings.db_url == MEMORY_DB_URL
    writing = load_settings(project)
    assert writing.db_url == f"sqlite:///{project / '.promptctl' / 'registry.db'}"

"""`promptctl db`: the schema is managed by Alembic, up and down."""

from __future__ import annotations

from tests.conftest import Cli


def test_db_current_upgrade_downgrade(cli: Cli):
    assert "(empty) (upgrade available)" in cli("db", "current").stdout
    assert "database at revision" in cli("db", "upgrade").stdout
    assert "(up to date)" in cli("db", "current").stdout
    assert "database at revision None" in cli("db", "downgrade", "base").stdout
    assert cli("release").exit_code == 0  # first use upgrades again
    assert "(up to date)" in cli("db", "current").stdout


def test_unreachable_database_is_exit_5(cli: Cli, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    result = Cli(cli.root, f"sqlite:///{blocked}/sub/registry.db")("release")
    assert result.exit_code == 5 and "cannot create the database" in result.stderr


def test_invalid_database_url_is_a_usage_error(cli: Cli):
    result = Cli(cli.root, "nosuchdb://x/y")("list")
    assert result.exit_code == 2 and "invalid database URL" in result.stderr


def test_unreachable_postgresql_is_exit_5(cli: Cli):
    result = Cli(cli.root, "postgresql+psycopg://u:p@127.0.0.1:1/none?connect_timeout=2")("list")
    assert result.exit_code == 5 and "database unavailable" in result.stderr

"""URL helpers: passwords are masked in every message that quotes a URL."""

from __future__ import annotations

import pytest

from promptctl.client import Registry
from promptctl.errors import BackendUnavailable, UsageError
from promptctl.urls import http_url_problem, is_sqlite_uri, redact_url, sqlite_file


@pytest.mark.parametrize(("text", "masked"), [
    ("postgresql+evil://app:Sup3rS3cretPw@db/x", "postgresql+evil://app:***@db/x"),
    ("cannot reach http://u:pw@127.0.0.1:1: refused",
     "cannot reach http://u:***@127.0.0.1:1: refused"),
    ("postgresql://app:p@ss/w0rd@db:5432/x", "postgresql://app:***@db:5432/x"),
    ("postgresql://db/x?user=app&password=hunter2&sslmode=require",
     "postgresql://db/x?user=app&password=***&sslmode=require"),
    ("'a://u:1@h' and 'b://v:2@k'", "'a://u:***@h' and 'b://v:***@k'"),
    ("postgresql://app@db/x", "postgresql://app@db/x"),
    ("http://127.0.0.1:8700/v1", "http://127.0.0.1:8700/v1"),
    ("sqlite:////tmp/a:b@c.db", "sqlite:////tmp/a:b@c.db"),
])
def test_redact_url_masks_passwords_and_only_them(text: str, masked: str) -> None:
    assert redact_url(text) == masked


@pytest.mark.parametrize(("url", "ok"), [
    ("http://127.0.0.1:8700", True), ("https://registry.internal/base", True),
    ("ftp://x", False), ("localhost:8700", False), ("http://", False), ("http://h:99999", False),
    ("http://h:port", False), ("http://h /x", False), ("http://hé", False), (5, False),
])
def test_http_url_problem(url: object, ok: bool) -> None:
    assert (http_url_problem(url) is None) is ok


def test_http_url_problem_never_shows_the_password() -> None:
    problem = http_url_problem("htp://u:Sup3rS3cretPw@host")
    assert problem is not None and "Sup3rS3cretPw" not in problem and "u:***@" in problem


@pytest.mark.parametrize(("url", "path", "uri"), [
    ("sqlite:////abs/registry.db", "/abs/registry.db", False),
    ("sqlite:///rel.db", "rel.db", False),
    ("sqlite://", None, False),
    ("sqlite:///:memory:", None, False),
    ("sqlite:///file:reg.db?mode=ro&uri=true", "reg.db", True),
    ("sqlite:///file:/abs/reg.db?mode=ro&uri=true", "/abs/reg.db", True),
    ("sqlite:///file:///abs/reg.db?uri=true", "/abs/reg.db", True),
    ("sqlite:///file:mem?mode=memory&uri=true", None, True),
    ("postgresql://h/x", None, False),
])
def test_sqlite_file_names_the_file_of_plain_and_uri_urls(url: str, path: str | None,
                                                          uri: bool) -> None:
    assert sqlite_file(url) == path
    assert is_sqlite_uri(url) is uri


def test_the_sdk_does_not_print_the_password_of_an_unreachable_server() -> None:
    with (pytest.raises(BackendUnavailable) as caught,
          Registry("http://app:Sup3rS3cretPw@127.0.0.1:1", "production", "pct_x", timeout=1)):
        pass
    assert "Sup3rS3cretPw" not in caught.value.message
    assert "http://app:***@127.0.0.1:1" in caught.value.message


def test_the_sdk_refuses_a_malformed_url_without_its_password() -> None:
    with pytest.raises(UsageError) as caught:
        Registry("http://app:Sup3rS3cretPw@127.0.0.1:port", "production", "pct_x")
    assert "Sup3rS3cretPw" not in caught.value.message and "app:***@" in caught.value.message

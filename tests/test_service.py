"""The application layer's contract: the local service (the store) and the remote one (a real
promptctl app over HTTP) behave the same. Every test here runs on both, on SQLite and on
PostgreSQL; both are picked by ``service_for`` from the settings, as the CLI picks them."""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from promptctl.api import create_app
from promptctl.api.server import bind_socket, make_server
from promptctl.config import load_settings
from promptctl.errors import CheckFailed, ConflictError, NotFoundError, UsageError
from promptctl.local_service import LocalService
from promptctl.remote import RemoteService
from promptctl.service import (
    Change,
    CreatedToken,
    EvalResult,
    RegistryService,
    RevokedToken,
    RolloutState,
    TokenInfo,
)
from promptctl.service_factory import service_for
from promptctl.store import Store
from promptctl.tokens import create_token
from tests.conftest import Cli

IDENTITY = "Test Author <author@example.com>"  # the git identity of the test repositories
GATED = "gated"  # an environment of promptctl.toml with require_eval = true


class InProcessServer:
    """The real app under uvicorn on a thread, on a free loopback port."""

    def __init__(self, root: Path, db: str) -> None:
        settings = load_settings(root, db=db)
        self.store = Store.open(db)
        self.server = make_server(create_app(settings, store=self.store), settings.limits)
        self.sock = bind_socket("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self.server.run,
                                       kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> InProcessServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "server not started"
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()
        self.store.dispose()


@pytest.fixture(params=["local", "remote"])
def service(request: pytest.FixtureRequest, released: Cli,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[RegistryService]:
    """support 1.0.0, 1.1.0, 1.2.0 released; 1.0.0 stable in production."""
    (released.root / "promptctl.toml").write_text(
        f"[environments.{GATED}]\nrequire_eval = true\n")
    assert released("promote", "support", "1.0.0", "--env", "production").exit_code == 0
    for name in [k for k in os.environ if k.startswith("PROMPTCTL_")]:
        monkeypatch.delenv(name)
    if request.param == "local":
        picked = service_for(load_settings(released.root, db=released.db))
        assert isinstance(picked, LocalService) and isinstance(picked, RegistryService)
        yield picked
        picked.store.dispose()
        return
    store = Store.open(released.db)
    _, admin = create_token(store, "admin")
    store.dispose()
    with InProcessServer(released.root, released.db) as server:
        monkeypatch.setenv("PROMPTCTL_URL", server.url)
        monkeypatch.setenv("PROMPTCTL_TOKEN", admin)
        picked = service_for(load_settings(released.root, db=released.db))
        assert isinstance(picked, RemoteService) and isinstance(picked, RegistryService)
        yield picked


# -- rollout ------------------------------------------------------------------------------------


def test_promote_rollback_status_and_history_return_typed_records(service: RegistryService
                                                                  ) -> None:
    change = service.promote("production", "support", "1.1.0", percent=10, reason="canary")
    assert isinstance(change, Change) and isinstance(change.created_at, datetime)
    assert (change.action, change.reason) == ("promote", "canary")
    assert change.after == {"stable": "1.0.0", "canary": "1.1.0", "percent": 10,
                            "stickiness": "default"}
    [state] = service.status("production")
    assert isinstance(state, RolloutState)
    assert (state.stable, state.canary, state.percent) == ("1.0.0", "1.1.0", 10)
    back = service.rollback("production", "support")
    assert back.action == "rollback" and back.after["canary"] is None
    history = service.history("production", "support")
    assert [c.action for c in history] == ["promote", "promote", "rollback"]
    assert history[-1] == back


def test_the_actor_is_the_git_identity_of_the_repository(service: RegistryService) -> None:
    change = service.promote("production", "support", "1.1.0")
    assert IDENTITY in change.actor  # through a server: "token:admin-1 (Test Author <...>)"
    named = service.rollback("production", "support", actor="release-bot")
    assert named.actor.endswith("release-bot") or named.actor.endswith("(release-bot)")


@pytest.mark.parametrize(("args", "error", "message"), [
    (("production", "support", "9.9.9"), NotFoundError, "not released"),
    (("moon", "support", "1.1.0"), NotFoundError, "unknown environment"),
    (("production", "nope", "1.0.0"), NotFoundError, "no prompt named"),
])
def test_promote_refuses_what_does_not_exist(service: RegistryService, args: tuple[str, ...],
                                             error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        service.promote(*args)
    assert [c.action for c in service.history("production", "support")] == ["promote"]


def test_promote_refuses_a_percent_out_of_range_and_rollback_with_nothing_to_undo(
        service: RegistryService) -> None:
    with pytest.raises(UsageError, match="1 to 100"):
        service.promote("production", "support", "1.1.0", percent=0)
    with pytest.raises(NotFoundError, match="nothing to roll back"):
        service.rollback("staging", "support")
    assert service.status("staging") == []


# -- environments -------------------------------------------------------------------------------


def test_an_added_environment_is_listed_and_can_be_promoted_to(service: RegistryService) -> None:
    assert service.add_environment("qa") == "qa"
    assert "qa" in service.environments()
    assert service.promote("qa", "support", "1.0.0").env == "qa"
    with pytest.raises(ConflictError, match="already exists"):
        service.add_environment("qa")


def test_a_bad_environment_name_is_refused_by_the_one_rule(service: RegistryService) -> None:
    before = service.environments()
    with pytest.raises(UsageError, match="not a valid environment name"):
        service.add_environment("Bad Name")
    assert service.environments() == before


# -- evals --------------------------------------------------------------------------------------


def test_a_recorded_eval_opens_the_gate(service: RegistryService) -> None:
    with pytest.raises(CheckFailed, match="requires a passing eval"):
        service.promote(GATED, "support", "1.1.0")
    failed = service.record_eval(GATED, "support", "1.1.0", passed=False, suite="smoke")
    assert isinstance(failed, EvalResult) and not failed.passed
    with pytest.raises(CheckFailed, match="failed"):
        service.promote(GATED, "support", "1.1.0")
    result = service.record_eval(GATED, "support", "1.1.0", passed=True, suite="smoke",
                                 score=0.92)
    assert (result.env, result.prompt, result.version, result.suite, result.score) == \
        (GATED, "support", "1.1.0", "smoke", 0.92)
    assert result.id > failed.id and IDENTITY in result.actor
    assert isinstance(result.created_at, datetime)
    assert service.promote(GATED, "support", "1.1.0").after["stable"] == "1.1.0"


@pytest.mark.parametrize(("version", "suite", "score", "error", "message"), [
    ("9.9.9", "smoke", None, NotFoundError, "not released"),
    ("1.1.0", "", None, UsageError, "suite"),
    ("1.1.0", "smoke", math.nan, UsageError, "finite number"),
    ("1.1.0", "smoke", math.inf, UsageError, "finite number"),
])
def test_an_eval_of_nothing_or_without_a_suite_is_refused(
        service: RegistryService, version: str, suite: str, score: float | None,
        error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        service.record_eval("production", "support", version, passed=True, suite=suite,
                            score=score)
    with pytest.raises(CheckFailed, match="requires a passing eval"):  # nothing recorded
        service.promote(GATED, "support", "1.1.0")


def test_an_eval_in_an_unknown_environment_is_not_found(service: RegistryService) -> None:
    with pytest.raises(NotFoundError, match="unknown environment"):
        service.record_eval("moon", "support", "1.1.0", passed=True, suite="smoke")


# -- tokens -------------------------------------------------------------------------------------


def test_a_created_token_is_listed_without_its_secret_and_can_be_revoked(
        service: RegistryService) -> None:
    created = service.create_token("reader", "production", name="web")
    assert isinstance(created, CreatedToken) and created.secret.startswith("pct_")
    assert (created.role, created.env, created.name) == ("reader", "production", "web")
    listed = {t.id: t for t in service.list_tokens()}
    assert all(isinstance(t, TokenInfo) for t in listed.values())
    info = listed[created.id]
    assert (info.name, info.role, info.env, info.revoked) == ("web", "reader", "production",
                                                              False)
    assert IDENTITY in info.created_by and created.secret not in repr(info)
    revoked = service.revoke_token(created.id)
    assert isinstance(revoked, RevokedToken) and revoked.id == created.id
    assert {t.id: t.revoked for t in service.list_tokens()}[created.id] is True
    assert service.revoke_token(created.id).revoked_at == revoked.revoked_at  # the first time


def test_an_unnamed_token_is_named_after_its_role_scope_and_id(service: RegistryService) -> None:
    created = service.create_token("deployer", "staging")
    assert created.name == f"deployer-staging-{created.id}"


@pytest.mark.parametrize(("role", "env", "error", "message"), [
    ("reader", None, UsageError, "scoped to one environment"),
    ("owner", None, UsageError, "unknown role"),
    ("admin", "production", UsageError, "cannot be scoped"),
    ("reader", "moon", NotFoundError, "unknown environment"),
])
def test_a_token_that_cannot_exist_is_refused_and_none_is_created(
        service: RegistryService, role: str, env: str | None, error: type[Exception],
        message: str) -> None:
    before = service.list_tokens()
    with pytest.raises(error, match=message):
        service.create_token(role, env)
    assert service.list_tokens() == before


def test_revoking_an_unknown_token_is_not_found(service: RegistryService) -> None:
    with pytest.raises(NotFoundError, match="no token with id 424242"):
        service.revoke_token(424242)

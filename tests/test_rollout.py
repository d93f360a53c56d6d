"""Rollout control through the CLI against the database: promote, rollback, status,
history, environments, the eval gate and concurrent changes."""

from __future__ import annotations

import itertools
import json
import threading

import pytest

from promptctl.errors import AuthError, ConflictError
from promptctl.rollout import Rollouts, _write_row
from promptctl.store import Store
from promptctl.store.rollouts import rollout_row
from promptctl.tokens import authenticate, hash_secret
from tests.conftest import Cli


def ok(cli: Cli, *args: str) -> dict | list:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def status_of(cli: Cli, env: str) -> dict:
    rows = ok(cli, "status", "--env", env)
    return {r["prompt"]: r for r in rows}


def test_promote_to_100_makes_a_version_stable(released: Cli) -> None:
    change = ok(released, "promote", "support", "1.0.0", "--env", "production")
    assert change["action"] == "promote"
    assert change["after"] == {"stable": "1.0.0", "canary": None, "percent": 0,
                               "stickiness": "default"}
    state = status_of(released, "production")["support"]
    assert (state["stable"], state["canary"], state["percent"]) == ("1.0.0", None, 0)
    assert status_of(released, "staging") == {}


def test_promote_with_percent_sets_a_canary_and_100_completes_it(released: Cli) -> None:
    ok(released, "promote", "support", "1.0.0", "--env", "production")
    ok(released, "promote", "support", "1.1.0", "--env", "production", "--percent", "10")
    state = status_of(released, "production")["support"]
    assert (state["stable"], state["canary"], state["percent"]) == ("1.0.0", "1.1.0", 10)
    ok(released, "promote", "support", "1.1.0", "--env", "production", "--percent", "50")
    assert status_of(released, "production")["support"]["percent"] == 50
    ok(released, "promote", "support", "1.1.0", "--env", "production")
    state = status_of(released, "production")["support"]
    assert (state["stable"], state["canary"], state["percent"]) == ("1.1.0", None, 0)


def test_human_output_names_the_change(released: Cli) -> None:
    released("promote", "support", "1.0.0", "--env", "production")
    result = released("promote", "support", "1.1.0", "--env", "production", "--percent", "10")
    assert "promoted support@1.1.0 to 10% of production (canary; stable 1.0.0)" in result.output
    result = released("status")
    assert "production" in result.output and "1.1.0" in result.output and "10%" in result.output


def test_rollback_clears_the_canary_then_restores_the_previous_stable(released: Cli) -> None:
    ok(released, "promote", "support", "1.0.0", "--env", "production")
    ok(released, "promote", "support", "1.1.0", "--env", "production")
    ok(released, "promote", "support", "1.2.0", "--env", "production", "--percent", "20")

    change = ok(released, "rollback", "support", "--env", "production", "--reason", "bad")
    assert change["after"]["stable"] == "1.1.0" and change["after"]["canary"] is None
    change = ok(released, "rollback", "support", "--env", "production")
    assert change["after"]["stable"] == "1.0.0"

    result = released("rollback", "support", "--env", "production")
    assert result.exit_code == 2
    assert "nothing to roll back" in result.output
    assert status_of(released, "production")["support"]["stable"] == "1.0.0"


def test_rollback_without_a_rollout_is_not_found(released: Cli) -> None:
    result = released("rollback", "support", "--env", "staging")
    assert result.exit_code == 3
    assert "no rollout" in result.output


def test_history_records_actor_action_before_after_reason_and_time(released: Cli) -> None:
    ok(released, "promote", "support", "1.0.0", "--env", "production", "--reason", "launch")
    ok(released, "promote", "support", "1.1.0", "--env", "production", "-p", "10")
    ok(released, "rollback", "support", "--env", "production", "--reason", "errors up")
    events = ok(released, "history", "support", "--env", "production")
    assert [e["action"] for e in events] == ["promote", "promote", "rollback"]
    assert events[0]["reason"] == "launch" and events[2]["reason"] == "errors up"
    assert all(e["actor"] == "Test Author <author@example.com>" for e in events)
    assert events[0]["before"]["stable"] is None
    assert events[1]["after"]["canary"] == "1.1.0"
    assert events[2]["before"] == events[1]["after"]
    assert all(e["created_at"] for e in events)
    # the other environment has its own (empty) history
    assert ok(released, "history", "support", "--env", "staging") == []
    # without --env, history still lists releases
    releases = ok(released, "history", "support")
    assert [r["version"] for r in releases] == ["1.0.0", "1.1.0", "1.2.0"]


@pytest.mark.parametrize(("args", "code", "message"), [
    (["promote", "support", "9.9.9", "--env", "production"], 3, "not released"),
    (["promote", "nope", "1.0.0", "--env", "production"], 3, "no prompt named 'nope'"),
    (["promote", "support-chat", "1.0.0", "--env", "production"], 3,
     "support-chat is a model; only prompts are promoted"),
    (["promote", "support", "1.0.0", "--env", "moon"], 3, "unknown environment 'moon'"),
    (["promote", "support", "1.1.0", "--env", "production", "--percent", "0"], 2, "1 to 100"),
    (["promote", "support", "1.1.0", "--env", "production", "--percent", "101"], 2, "1 to 100"),
    (["promote", "support", "1.0.0", "--env", "production"], 2, "already stable"),
    (["promote", "support", "1.0.0", "--env", "production", "-p", "5"], 2, "already stable"),
    (["history", "nope", "--env", "production"], 3, "no prompt named"),
])
def test_bad_requests_fail_with_a_message_and_change_nothing(
        released: Cli, args: list[str], code: int, message: str) -> None:
    ok(released, "promote", "support", "1.0.0", "--env", "production")
    before = ok(released, "history", "support", "--env", "production")
    result = released(*args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert ok(released, "history", "support", "--env", "production") == before


def test_a_canary_needs_a_stable_version_first(released: Cli) -> None:
    result = released("promote", "support", "1.1.0", "--env", "staging", "--percent", "10")
    assert result.exit_code == 2
    assert "promote a version to 100% first" in result.output


def test_json_errors_are_machine_readable(released: Cli) -> None:
    result = released("promote", "support", "9.9.9", "--env", "production", "--json")
    assert result.exit_code == 3
    assert json.loads(result.output)["error"] == "not_found"


def test_env_add_creates_a_usable_environment(released: Cli) -> None:
    assert "qa" not in ok(released, "env", "list")
    assert released("env", "add", "qa").exit_code == 0
    assert "qa" in ok(released, "env", "list")
    ok(released, "promote", "support", "1.0.0", "--env", "qa")
    assert status_of(released, "qa")["support"]["stable"] == "1.0.0"
    assert released("env", "add", "qa").exit_code == 4
    assert released("env", "add", "Bad Name").exit_code == 2


def test_required_eval_gates_promotion(released: Cli) -> None:
    (released.root / "promptctl.toml").write_text(
        "[environments.production]\nrequire_eval = true\n[environments.staging]\n")
    ok(released, "promote", "support", "1.0.0", "--env", "staging")  # no gate there
    result = released("promote", "support", "1.0.0", "--env", "production")
    assert result.exit_code == 1
    assert "requires a passing eval" in result.output

    ok(released, "eval", "record", "support", "1.0.0", "--env", "production", "--failed",
       "--score", "0.4", "--suite", "golden")
    result = released("promote", "support", "1.0.0", "--env", "production")
    assert result.exit_code == 1 and "failed" in result.output

    ok(released, "eval", "record", "support", "1.0.0", "--env", "production", "--passed",
       "--score", "0.93", "--suite", "golden")
    ok(released, "promote", "support", "1.0.0", "--env", "production")
    assert status_of(released, "production")["support"]["stable"] == "1.0.0"
    # an eval can only be recorded for a released version
    result = released("eval", "record", "support", "7.0.0", "--env", "production", "--passed",
                      "--suite", "golden")
    assert result.exit_code == 3


def test_concurrent_promotes_never_lose_an_update(released: Cli) -> None:
    """20 threads change one (env, prompt) at once: every successful change is in the
    history, each event starts from the state the previous one left, and the final
    state is the last event's."""
    ok(released, "promote", "support", "1.0.0", "--env", "production")
    store = Store.open(released.db)
    rollouts = Rollouts(store)
    outcomes: list[str] = []
    barrier = threading.Barrier(20)

    def worker(i: int) -> None:
        barrier.wait()
        try:
            rollouts.promote("production", "support", "1.1.0", percent=i + 1,
                             actor=f"thread-{i}")
            outcomes.append("ok")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == 20
    events = rollouts.history("production", "support")
    successes = outcomes.count("ok")
    assert successes >= 1
    assert len(events) == 1 + successes
    for earlier, later in itertools.pairwise(events):
        assert later.before == earlier.after
    final = rollouts.state("production", "support")
    assert final is not None
    assert final.public() == events[-1].after
    assert final.version == len(events)
    store.dispose()


def test_a_stale_write_is_refused_by_the_version_column(released: Cli) -> None:
    """The optimistic lock itself: an UPDATE based on a row someone changed since fails."""
    ok(released, "promote", "support", "1.0.0", "--env", "production")
    store = Store.open(released.db)
    rollouts = Rollouts(store)
    with store.connect() as conn:
        stale = rollout_row(conn, "production", "support")
    rollouts.promote("production", "support", "1.1.0", percent=30)
    new = rollouts.state("production", "support")
    assert new is not None
    with pytest.raises(ConflictError, match="changed by someone else"), store.begin() as conn:
        _write_row(conn, stale, new, [])
    assert rollouts.state("production", "support") == new
    store.dispose()


def test_schema_downgrades_and_upgrades_cleanly(released: Cli) -> None:
    store = Store.open(released.db)
    store.downgrade("0001_releases")
    assert store.current_revision() == "0001_releases"
    store.upgrade()
    assert store.current_revision() == store.head_revision()
    assert set(Rollouts(store).environments()) == {"development", "staging", "production"}
    store.dispose()


def test_the_unleash_backend_needs_its_settings_and_changes_nothing_without(
        released: Cli) -> None:
    ok(released, "promote", "support", "1.0.0", "--env", "production")
    result = released("promote", "support", "1.1.0", "--env", "production", "-p", "10",
                      env={"PROMPTCTL_FLAGS": "unleash", "PROMPTCTL_UNLEASH_URL": "",
                           "PROMPTCTL_UNLEASH_TOKEN": ""})
    assert result.exit_code == 2
    assert "unleash" in result.output.lower()
    assert status_of(released, "production")["support"]["canary"] is None


def test_tokens_are_shown_once_and_stored_hashed(released: Cli) -> None:
    created = ok(released, "token", "create", "--role", "reader", "--env", "staging",
                 "--name", "web")
    secret = created["token"]
    assert secret.startswith("pct_") and created["role"] == "reader"
    listed = ok(released, "token", "list")
    assert [t["name"] for t in listed] == ["web"]
    assert secret not in json.dumps(listed)
    store = Store.open(released.db)
    with store.session() as session:
        stored = session.connection().exec_driver_sql(
            "SELECT token_hash FROM api_tokens").scalar_one()
    assert stored == hash_secret(secret) != secret
    assert authenticate(store, secret).env == "staging"
    ok(released, "token", "revoke", str(created["id"]))
    with pytest.raises(AuthError):
        authenticate(store, secret)
    store.dispose()
    assert released("token", "create", "--role", "reader").exit_code == 2  # needs --env
    assert released("token", "create", "--role", "reader", "--env", "moon").exit_code == 3
    assert released("token", "create", "--role", "root").exit_code == 2
    assert released("token", "revoke", "999").exit_code == 3

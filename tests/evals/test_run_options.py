"""``eval run`` options through the CLI: recordings and replays, the budget, and
``eval record`` bound to the released fingerprint."""

from __future__ import annotations

import json

from tests.conftest import Cli


def runs(cli: Cli) -> list[dict]:
    return json.loads(cli("eval", "list", "--json").output)


def test_a_recorded_run_replays_offline_and_a_missing_recording_fails_the_run(cli: Cli) -> None:
    assert cli("release").exit_code == 0
    recorded = cli("eval", "run", "support", "--record", str(cli.root / "rec.jsonl"),
                   "--no-cache")
    assert recorded.exit_code == 0, recorded.output
    replayed = cli("eval", "run", "support", "--provider", "replay:rec.jsonl")
    assert replayed.exit_code == 0 and "120/120 cases pass" in replayed.output
    assert [r["provider"]["type"] for r in runs(cli)] == ["replay", "python"]
    # the example support prompt changed: no recording matches its fingerprint
    text = (cli.root / "prompts" / "support.prompt.yaml").read_text()
    (cli.root / "prompts" / "support.prompt.yaml").write_text(
        text.replace("version: 1.0.0", "version: 1.0.1").replace("for Acme.", "for Acme!"))
    missing = cli("eval", "run", "support", "--provider", "replay:rec.jsonl")
    assert missing.exit_code == 3 and "no recording of case" in missing.output
    assert len(missing.output.strip().splitlines()) == 1
    assert len(runs(cli)) == 2  # nothing stored
    unreadable = cli("eval", "run", "support", "--provider", "replay:nope.jsonl")
    assert unreadable.exit_code == 2 and "cannot read recordings" in unreadable.output


def test_the_budget_stops_the_run_and_fails_its_gate(cli: Cli) -> None:
    result = cli("eval", "run", "support", "--max-cost", "0.0002", "-j", "1", "--no-cache")
    assert result.exit_code == 1
    assert "FAIL complete: stopped by the budget after" in result.output


def test_an_external_result_is_bound_to_the_released_fingerprint(cli: Cli) -> None:
    assert cli("release").exit_code == 0
    shown = json.loads(cli("show", "support", "--json").output)
    ok = cli("eval", "record", "support", "1.0.0", "--env", "production", "--passed",
             "--suite", "external", "--fingerprint", shown["fingerprint"], "--json")
    assert ok.exit_code == 0 and json.loads(ok.output)["fingerprint"] == shown["fingerprint"]
    wrong = cli("eval", "record", "support", "1.0.0", "--env", "production", "--passed",
                "--suite", "external", "--fingerprint", "0" * 64)
    assert wrong.exit_code == 2 and "is not the bundle of support@1.0.0" in wrong.output

"""Every common secret shape is found in every place an artifact can hold text, keys
included, by `lint` and `diff --check` alike; the secret itself is never printed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import git
import pytest
import yaml

from promptctl.review.secrets import redact, redacted, scan_value
from tests.conftest import EXAMPLE_PROMPTS, Cli, commit_all, make_repo

KEY_BLOCK = ("-----BEGIN RSA PRIVATE KEY-----\n"
             "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0\n"
             "-----END RSA PRIVATE KEY-----")
def _whole(secret: str) -> tuple[str, str]:
    return secret, secret


SHAPES: dict[str, tuple[str, str]] = {  # kind -> (text placed, the secret in it)
    "github": _whole("ghp_R4nd0mT0k3nV4lu3F0rT3st1ngXyZ1234567"),
    "github-fine-grained": _whole(
        "github_pat_11ABCDEFG0aBcDeFgHiJkLm_" + "Q9rT5vX1zB3nM7kP2wE6yU0iO4aS8dF" * 2),
    "aws-access-key": _whole("AKIAZ3MHQ7X5TPLWQ4RN"),
    "aws-credentials-file": ("aws_secret_access_key = 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",
                             "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8vR2kL9x"),
    "openai-project": _whole("sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"),
    "openai-none": _whole("sk-None-Zq8rT2vX6bN0mK4pW9eY3uI7oA1sD5fG"),
    "anthropic": _whole("sk-ant-api03-" + "a1B2c3D4e5F6" * 6),
    "slack": _whole("xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx"),
    "stripe": _whole("sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    "jwt": _whole("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
                  "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"),
    "private-key": _whole(KEY_BLOCK),
    "basic-auth-url": ("postgresql://admin:hunter2pass@db.internal:5432/kb", "hunter2pass"),
}


def _prompt(name: str, **fields: Any) -> dict[str, Any]:
    template = fields.pop("template", {"system": "You are a support agent."})
    return {"kind": "prompt", "name": name, "version": "1.0.0", "description": "d",
            "model": "support-chat@1.0.0", **fields, "template": template}


def _model(name: str, **params: Any) -> dict[str, Any]:
    return {"kind": "model", "name": name, "version": "1.0.0", "description": "d",
            "provider": "openai", "model": "gpt-4o-mini", "params": {"temperature": 0.2, **params}}


def _tool(name: str, text: str) -> dict[str, Any]:
    return {"kind": "tool", "name": name, "version": "1.0.0", "description": "d",
            "parameters": {"type": "object", "properties": {
                "query": {"type": "string", "description": f"what to find; {text}"}}}}


def _index(name: str, text: str) -> dict[str, Any]:
    return {"kind": "index", "name": name, "version": "1.0.0", "description": "d",
            "backend": "pgvector", "uri": text, "embedding_model": "e", "build": "b"}


Placement = Callable[[str, str], tuple[str, dict[str, Any]]]  # (name, text) -> (suffix, artifact)
PLACEMENTS: dict[str, tuple[Placement, str]] = {  # placement -> (builder, field path prefix)
    "template-system": (lambda n, t: ("prompt", _prompt(n, template={
        "system": f"You are a support agent.\nCall the API with {t} when asked."})),
        "template.system"),
    "template-user": (lambda n, t: ("prompt", _prompt(n, variables={"q": {"type": "string"}},
                                                     template={"user": f"{{{{ q }}}}\n{t}"})),
                      "template.user"),
    "description": (lambda n, t: ("prompt", {**_prompt(n), "description": f"uses {t}"}),
                    "description"),
    "metadata-value": (lambda n, t: ("prompt", _prompt(n, metadata={"note": t})),
                       "metadata.note"),
    "metadata-key": (lambda n, t: ("prompt", _prompt(n, metadata={t: "yes"})), "metadata."),
    "metadata-dotted-key": (lambda n, t: ("prompt", _prompt(
        n, metadata={"env.prod": {f"cfg.{t}": True}})), "metadata.env.prod.cfg."),
    "params-value": (lambda n, t: ("model", _model(n, user=t)), "params.user"),
    "params-key": (lambda n, t: ("model", _model(n, **{t: 1})), "params."),
    "stop-list": (lambda n, t: ("model", _model(n, stop=["\nCustomer:", t])),
                  "params.stop[1]"),
    "tool-parameter-description": (lambda n, t: ("tool", _tool(n, t)),
                                   "parameters.properties.query.description"),
    "index-uri": (lambda n, t: ("index", _index(n, t)), "uri"),
}
CASES = [(kind, place) for kind in SHAPES for place in PLACEMENTS]


def _file(kind: str, place: str) -> str:
    suffix, _ = PLACEMENTS[place][0]("x", "x")
    return f"prompts/{kind}--{place}.{suffix}.yaml"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """The example registry committed, then one artifact per (secret shape, placement)."""
    root = tmp_path_factory.mktemp("planted") / "repo"
    repo = make_repo(root)
    shutil.copytree(EXAMPLE_PROMPTS, root / "prompts")
    (root / ".gitignore").write_text(".promptctl/\n")
    commit_all(repo, "example prompts")
    for kind, place in CASES:
        text, _ = SHAPES[kind]
        _, artifact = PLACEMENTS[place][0](f"{kind}--{place}", text)
        (root / _file(kind, place)).write_text(json.dumps(artifact, indent=1))
    commit_all(repo, "plant secrets")
    return Cli(root, f"sqlite:///{tmp_path_factory.mktemp('db') / 'registry.db'}")


def _secret_fields(findings: list[dict[str, Any]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for f in findings:
        if f["code"] == "secret" and f["severity"] == "error":
            found.setdefault(f["path"], []).append(f["field"] or "")
    return found


def _assert_every_placement_found(found: dict[str, list[str]]) -> None:
    missed = []
    for kind, place in CASES:
        fields = found.get(_file(kind, place), [])
        if not any(field.startswith(PLACEMENTS[place][1]) for field in fields):
            missed.append(f"{kind} in {place} (found: {fields})")
    assert not missed, f"{len(missed)} of {len(CASES)} placements undetected:\n" + \
        "\n".join(missed)


def _assert_no_secret_printed(output: str) -> None:
    for _, secret in SHAPES.values():
        for line in secret.splitlines():
            if not line.startswith("-----"):
                assert line not in output, f"{redacted(line)} printed in full"


def test_lint_finds_every_shape_in_every_placement(planted: Cli):
    result = planted("lint", "--json")
    assert result.exit_code == 1
    _assert_every_placement_found(_secret_fields(json.loads(result.stdout)["findings"]))
    _assert_no_secret_printed(result.stdout + result.stderr)


def test_diff_check_finds_every_shape_in_every_placement(planted: Cli):
    result = planted("diff", "--check", "--format", "json", "HEAD~1", "HEAD")
    assert result.exit_code == 1
    _assert_every_placement_found(_secret_fields(json.loads(result.stdout)["findings"]))
    _assert_no_secret_printed(result.stdout + result.stderr)
    markdown = planted("diff", "--check", "--format", "markdown", "HEAD~1", "HEAD")
    _assert_no_secret_printed(markdown.stdout + markdown.stderr)


@pytest.mark.parametrize("kind", sorted(set(SHAPES) - {"private-key"}))  # hidden by its lines
def test_redacting_a_line_hides_every_shape_without_context(kind: str):
    """A diff line or loader message shows a secret without its field: still hidden."""
    text, secret = SHAPES[kind]
    line = f"+Use {text} for the lookup."
    hidden = redact(line)
    assert secret not in hidden and redacted(secret) in hidden


@pytest.mark.parametrize("value", [
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8vR2kL9x",
    "AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8vR2kL9x",
    "github_pat_11ABCDEFG0aBcDeFgHiJkLm_Q9rT5vX1zB3nM7kP2wE6yU0iO4aS8dF",
    "sk-None-Zq8rT2vX6bN0mK4pW9eY3uI7oA1sD5fG",
])
def test_the_shapes_detect_secrets_lacks_are_found(value: str):
    assert scan_value("template.system", value)


def test_prose_about_credentials_files_is_not_a_secret():
    assert scan_value("template.system",
                      "Tell the user to set aws_secret_access_key in ~/.aws/credentials.") == []
    assert scan_value("template.system", "Fine-grained tokens start with github_pat_.") == []


def test_ordinary_mapping_keys_are_not_secrets(git_repo: git.Repo):
    root = Path(git_repo.working_tree_dir)
    shutil.copytree(EXAMPLE_PROMPTS, root / "prompts")
    model = yaml.safe_load((root / "prompts" / "support-chat.model.yaml").read_text())
    model["metadata"] = {"api_key_ttl": 3600, "owner.team": {"token_budget": 100,
                                                             "password.rotation_days": 90}}
    (root / "prompts" / "support-chat.model.yaml").write_text(yaml.safe_dump(model))
    commit_all(git_repo)
    assert Cli(root, f"sqlite:///{root / 'r.db'}")("lint").exit_code == 0

"""API tokens: names come from ids (never from the secret); odd secrets are a clean AuthError."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from promptctl.errors import AuthError, UsageError
from promptctl.store import Store
from promptctl.tokens import authenticate, create_token, list_tokens, revoke_token


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store.open(db_url)
    yield store
    store.dispose()


def test_a_default_token_name_is_role_scope_and_id_and_holds_no_part_of_the_secret(
        store: Store) -> None:
    admin, admin_secret = create_token(store, "admin")
    reader, reader_secret = create_token(store, "reader", "production")
    assert admin.name == f"admin-{admin.id}"
    assert reader.name == f"reader-production-{reader.id}"
    for principal, secret in ((admin, admin_secret), (reader, reader_secret)):
        body = secret.removeprefix("pct_")
        fragments = {body[i:i + 4] for i in range(len(body) - 3)}
        assert not any(f in principal.name for f in fragments)
    assert [t["name"] for t in list_tokens(store)] == [admin.name, reader.name]


def test_a_given_name_is_kept(store: Store) -> None:
    principal, _ = create_token(store, "deployer", name="ci")
    assert principal.name == "ci"
    assert authenticate(store, _).name == "ci"


@pytest.mark.parametrize("secret", ["pct_tökén", "pct_\udc80", "pct_\x00", "pct_\x1b[2J", "é" * 10])
def test_a_secret_with_characters_no_token_has_is_a_one_line_auth_error(
        store: Store, secret: str) -> None:
    with pytest.raises(AuthError, match=r"^invalid or revoked token$"):
        authenticate(store, secret)


@pytest.mark.parametrize("token_id", [0, -1, 2**31, 10**20])
def test_revoking_an_id_no_token_can_have_is_a_usage_error_and_revokes_nothing(
        store: Store, token_id: int) -> None:
    _, secret = create_token(store, "admin")
    with pytest.raises(UsageError, match=re.escape(f"{token_id} is not a token id")):
        revoke_token(store, token_id)
    assert authenticate(store, secret).role == "admin"

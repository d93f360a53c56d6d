"""API tokens: random secrets shown once, stored only as their SHA-256.

Roles form a ladder: ``reader`` (resolve, snapshot and events in one
environment) < ``deployer`` (also promote, roll back, status, history) <
``admin`` (also manage tokens). A deployer token may be scoped to one
environment too; an admin token never is.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from promptctl.errors import AuthError, NotFoundError, PermissionDenied, UsageError
from promptctl.store import Store
from promptctl.store import tokens as rows
from promptctl.store.tables import ApiToken

ROLES = ("reader", "deployer", "admin")
TOKEN_PREFIX = "pct_"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as far as the API is concerned."""

    id: int
    name: str
    role: str
    env: str | None

    @property
    def actor(self) -> str:
        return f"token:{self.name}"

    def require(self, role: str, env: str | None = None) -> None:
        """Raise ``PermissionDenied`` unless this token may act as ``role`` in ``env``."""
        if ROLES.index(self.role) < ROLES.index(role):
            raise PermissionDenied(f"a {self.role} token cannot do this (needs {role})")
        if env is not None and self.env is not None and self.env != env:
            raise PermissionDenied(f"this token is scoped to environment {self.env!r}, "
                                   f"not {env!r}")

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "role": self.role, "env": self.env}


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(store: Store, role: str, env: str | None = None, *, name: str | None = None,
                 created_by: str = "cli") -> tuple[Principal, str]:
    """Create a token; returns it and its secret, which is not stored anywhere."""
    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}; use one of: {', '.join(ROLES)}")
    if role == "reader" and not env:
        raise UsageError("a reader token is scoped to one environment: name the environment "
                         "it may read")
    if role == "admin" and env:
        raise UsageError("an admin token cannot be scoped to an environment")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = ApiToken(name=(name or role)[:128], token_hash=hash_secret(secret), role=role,
                      env=env, created_by=created_by)
    with store.write() as session:
        rows.add_token(session, record)
        if not name:  # named after its id, never after any part of the secret
            rows.rename_token(session, record, default_token_name(role, env, record.id or 0))
        principal = _principal(record)
    return principal, secret


def default_token_name(role: str, env: str | None, token_id: int) -> str:
    """``deployer-7``, ``reader-production-3``: role, scope and id. Older tokens keep the
    names they were given (which once held six characters of the secret)."""
    return f"{role}{'-' + env if env else ''}-{token_id}"


def authenticate(store: Store, secret: str | None) -> Principal:
    """The principal holding ``secret``; ``AuthError`` for a missing/unknown/revoked one."""
    if not secret:
        raise AuthError("missing bearer token (Authorization: Bearer <token>)")
    if not secret.isascii() or not secret.isprintable():  # no token has such characters
        raise AuthError("invalid or revoked token")
    with store.session() as session:
        record = rows.token_by_hash(session, hash_secret(secret))
    if record is None or record.revoked_at is not None:
        raise AuthError("invalid or revoked token")
    return _principal(record)


def list_tokens(store: Store) -> list[dict[str, object]]:
    with store.session() as session:
        records = rows.all_tokens(session)
    return [_principal(r).to_dict() | {"created_by": r.created_by,
                                       "created_at": r.created_at.isoformat(),
                                       "revoked": r.revoked_at is not None} for r in records]


MAX_TOKEN_ID = 2**31 - 1  # the id column is INTEGER: 32 bits on PostgreSQL


def revoke_token(store: Store, token_id: int) -> datetime:
    if not 1 <= token_id <= MAX_TOKEN_ID:
        raise UsageError(f"{token_id} is not a token id (ids are whole numbers from 1 to "
                         f"{MAX_TOKEN_ID}; `promptctl token list` shows them)")
    with store.write() as session:
        revoked_at = rows.revoke(session, token_id)
    if revoked_at is None:
        raise NotFoundError(f"no token with id {token_id}")
    return revoked_at


def _principal(record: ApiToken) -> Principal:
    return Principal(id=record.id or 0, name=record.name, role=record.role, env=record.env)

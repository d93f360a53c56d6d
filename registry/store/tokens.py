"""Queries over API tokens (their rows hold only the SHA-256 of each secret)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from promptctl.store.rollouts import utcnow
from promptctl.store.tables import ApiToken


def add_token(session: Session, record: ApiToken) -> ApiToken:
    """Write a new token and give it its id."""
    session.add(record)
    session.flush()
    return record


def rename_token(session: Session, record: ApiToken, name: str) -> ApiToken:
    record.name = name
    session.add(record)
    session.flush()
    return record


def token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash)).first()


def all_tokens(session: Session) -> list[ApiToken]:
    """Every token, revoked ones too, oldest first."""
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))


def revoke(session: Session, token_id: int) -> datetime | None:
    """Mark the token revoked; when it was (now, or its earlier revocation), or ``None``
    when no token has this id."""
    record = session.get(ApiToken, token_id)
    if record is None:
        return None
    record.revoked_at = record.revoked_at or utcnow()
    session.add(record)
    return record.revoked_at

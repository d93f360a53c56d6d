"""Announcing committed rollout changes to other processes (PostgreSQL ``NOTIFY``).

Every API replica on one PostgreSQL database ``LISTEN``s on :data:`CHANNEL`
(``promptctl.api.pg_feed``). The notification is sent inside the transaction
that writes the change, so PostgreSQL delivers it exactly when the change
commits and never for a change that rolled back. SQLite has no equivalent:
there the API polls the audit table instead.
"""

from __future__ import annotations

import json

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection, make_url

from promptctl.store.rollouts import EVENTS

CHANNEL = "promptctl_changes"


def notify_change(conn: Connection, env: str, change_id: int) -> None:
    """Queue a notification of change ``change_id`` in ``env``, sent on commit."""
    payload = json.dumps({"env": env, "id": change_id})
    conn.execute(text("SELECT pg_notify(:channel, :payload)"),
                 {"channel": CHANNEL, "payload": payload})


def latest_change_ids(conn: Connection) -> dict[str, int]:
    """Each environment's latest change id (one indexed ``max(id)`` per environment):
    what a poller compares to notice changes other processes made."""
    stmt = select(EVENTS.c.env, func.max(EVENTS.c.id)).group_by(EVENTS.c.env)
    return {str(env): int(change_id) for env, change_id in conn.execute(stmt)
            if change_id is not None}


def libpq_conninfo(url: str) -> str:
    """The libpq URL of a SQLAlchemy PostgreSQL URL (``postgresql+psycopg://...``): what a
    listener connects with, outside SQLAlchemy's pool."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def parse_notification(payload: str) -> tuple[str, int] | None:
    """``(env, change_id)`` of a payload written by :func:`notify_change`; None if foreign."""
    try:
        data = json.loads(payload)
        env, change_id = data["env"], int(data["id"])
    except (ValueError, KeyError, TypeError):
        return None
    return (env, change_id) if isinstance(env, str) else None


def lock_environment(conn: Connection, env: str) -> None:
    """Make the changes of ``env`` commit one at a time, in the order of their audit ids.

    Readers follow an environment by its audit ids (a state's change id, ``state?since=``),
    which only works if no change with a smaller id can commit after one with a larger id.
    PostgreSQL hands out ids when rows are inserted, not when they commit, so two
    transactions on different prompts of one environment could otherwise commit out of
    order; this transaction-scoped advisory lock (released on commit or rollback) puts
    them in line. SQLite needs nothing: its write transactions already run one at a time.
    """
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                    {"key": f"promptctl-env:{env}"})

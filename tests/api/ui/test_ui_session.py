"""Dashboard sessions are bounded in number and in time (``max_ui_sessions``,
``ui_session_seconds``)."""

from __future__ import annotations

import time

from promptctl.api.ui.session import Sessions
from promptctl.limits import limits_from


def test_the_oldest_session_goes_first_when_the_store_is_full() -> None:
    sessions = Sessions(limit=2, ttl=60)
    first, second, third = sessions.start("a"), sessions.start("b"), sessions.start("c")
    assert sessions.get(first.id) is None
    assert sessions.get(second.id) is second and sessions.get(third.id) is third
    assert len(sessions) == 2


def test_an_expired_or_ended_session_is_gone() -> None:
    sessions = Sessions(limit=10, ttl=0.01)
    old = sessions.start("a")
    time.sleep(0.02)
    assert sessions.get(old.id) is None
    fresh = Sessions(limit=10, ttl=60)
    kept = fresh.start()
    fresh.end(kept.id)
    assert fresh.get(kept.id) is None and fresh.get(None) is None


def test_each_session_has_its_own_random_id_and_csrf_token() -> None:
    sessions = Sessions(limit=10, ttl=60)
    a, b = sessions.start(), sessions.start()
    assert a.id != b.id and a.csrf != b.csrf and len(a.id) >= 43 and a.secret is None


def test_the_bounds_are_limits_like_the_others() -> None:
    limits = limits_from({"max_ui_sessions": 5},
                         {"PROMPTCTL_UI_SESSION_SECONDS": "60"})
    assert (limits.max_ui_sessions, limits.ui_session_seconds) == (5, 60.0)


def test_the_event_stream_pings_on_a_change_and_ends_with_the_session() -> None:
    import asyncio

    from promptctl.api.ui.routes import _changes, _signed_in

    sessions = Sessions(limit=10, ttl=60)
    session = sessions.start("pct_secret")
    ids = {"production": 3}

    async def read_all() -> list[bytes]:
        stream = _changes(ids.__getitem__, ["production"], _signed_in(sessions, session.id),
                          keepalive=10.0)
        out = [await anext(stream)]
        ids["production"] = 4
        out.append(await anext(stream))
        sessions.end(session.id)
        out += [chunk async for chunk in stream]
        return out

    assert asyncio.run(asyncio.wait_for(read_all(), 5)) == [
        b"retry: 1000\n\n", b"event: change\ndata: 4\n\n"]

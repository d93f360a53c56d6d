"""The SDK reads the server's event stream as it arrives: however the bytes are cut into
reads (a proxy may re-chunk them), it sees the same lines and events, and it refuses a line
it would have to buffer without end. The end-to-end stream is covered by the state and
replica tests against a real server; this is the parser, fed by strangers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from promptctl.client import MAX_EVENT_LINE, _events, _lines


class Arrivals:
    """What ``http.client.HTTPResponse.read1`` hands over: the bytes in the pieces that
    arrived, then ``b""`` at the end."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = [p for p in pieces if p]

    def read1(self, n: int) -> bytes:
        if not self.pieces:
            return b""
        piece = self.pieces.pop(0)
        if len(piece) > n:
            self.pieces.insert(0, piece[n:])
        return piece[:n]


def cut(data: bytes, at: list[int]) -> list[bytes]:
    points = sorted({min(max(0, p), len(data)) for p in at})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


text_lines = st.lists(st.text(st.characters(blacklist_characters="\r\n"), max_size=40),
                      max_size=20)


@given(lines=text_lines, at=st.lists(st.integers(0, 2000), max_size=30),
       crlf=st.booleans())
def test_the_same_lines_arrive_however_the_bytes_are_cut(lines: list[str], at: list[int],
                                                         crlf: bool) -> None:
    end = "\r\n" if crlf else "\n"
    data = "".join(line + end for line in lines).encode()
    assert list(_lines(Arrivals(cut(data, at)))) == lines  # type: ignore[arg-type]


@given(at=st.lists(st.integers(0, 400), max_size=20))
def test_events_are_parsed_across_any_cut(at: list[int]) -> None:
    stream = (b": keepalive\n\nevent: hello\ndata: {\"change_id\": 3}\n\n"
              b"id: 4\nevent: change\ndata: {\"change_id\": 4,\ndata:  \"changes\": {}}\n\n"
              b"event: change\ndata: {\"change_id\": 5}")  # cut off: never completed
    events = list(_events(_lines(Arrivals(cut(stream, at)))))  # type: ignore[arg-type]
    assert events == [("hello", '{"change_id": 3}'),
                      ("change", '{"change_id": 4,\n "changes": {}}')]


@pytest.mark.parametrize("pieces", [
    [b"data: " + b"x" * MAX_EVENT_LINE],  # one endless line, in one read
    [b"data: "] + [b"x" * 1000] * (MAX_EVENT_LINE // 1000 + 1),  # or trickling in
    [b"data: " + b"x" * MAX_EVENT_LINE + b"\n\n"],  # or whole, but too long
])
def test_a_line_too_long_to_buffer_is_refused(pieces: list[bytes]) -> None:
    with pytest.raises(ValueError, match="longer than"):
        list(_lines(Arrivals(pieces)))  # type: ignore[arg-type]


def test_a_stream_that_ends_ends_the_lines() -> None:
    response: Any = Arrivals([b"event: hello\n", b"data: 1\n\n"])
    assert list(_lines(response)) == ["event: hello", "data: 1", ""]

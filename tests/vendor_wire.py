"""A local stand-in for the model vendors' HTTP APIs, for tests that drive the official SDKs.

:class:`VendorWire` is a threaded HTTP server on 127.0.0.1 (a free port) that speaks three
wire formats: OpenAI Chat Completions (``POST /v1/chat/completions``), OpenAI Responses
(``POST /v1/responses``) and Anthropic Messages (``POST /v1/messages``). It records every
request (path, headers, JSON body) and answers with a canned valid response of the right
shape, or with what a test scripted: an error status (429, 5xx, with the vendor's error
body), a malformed body, or a slow answer.

Point the SDKs at it::

    with VendorWire() as wire:
        OpenAI(base_url=wire.openai_url, api_key="test", max_retries=0)
        Anthropic(base_url=wire.anthropic_url, api_key="test", max_retries=0)
        litellm.completion(..., api_base=wire.openai_url, api_key="test")

or use the ``vendor_wire`` fixture (import it into the test module). The canned bodies are
also plain functions (:func:`openai_chat_body`, :func:`openai_responses_body`,
:func:`anthropic_body`) for tests that need a response without a server.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

CHAT, RESPONSES, MESSAGES = "/v1/chat/completions", "/v1/responses", "/v1/messages"
PATHS = (CHAT, RESPONSES, MESSAGES)


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON, or the raw text when it is not JSON


@dataclass
class Answer:
    """What to send for one request: a status, a JSON body (``None``: the canned one for the
    path), or raw bytes (malformed), after ``delay`` seconds."""

    status: int = 200
    body: Any = None
    raw: bytes | None = None
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


# -- canned bodies ----------------------------------------------------------------------------

def openai_chat_body(text: str | None = "ok", tool_calls: list[tuple[str, Any]] | None = None,
                     model: str = "gpt-test") -> dict[str, Any]:
    """A chat completion; ``tool_calls`` are ``(name, arguments)`` (arguments: str or dict)."""
    calls = [{"id": f"call_{i}", "type": "function",
              "function": {"name": name, "arguments": _arg_text(args)}}
             for i, (name, args) in enumerate(tool_calls or [])]
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if calls:
        message["tool_calls"] = calls
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": 1_700_000_000,
            "model": model, "choices": [{"index": 0, "message": message, "logprobs": None,
                                         "finish_reason": "tool_calls" if calls else "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


def openai_responses_body(text: str | None = "ok",
                          tool_calls: list[tuple[str, Any]] | None = None,
                          model: str = "gpt-test") -> dict[str, Any]:
    output: list[dict[str, Any]] = []
    if text is not None:
        output.append({"type": "message", "id": "msg_test", "role": "assistant",
                       "status": "completed",
                       "content": [{"type": "output_text", "text": text, "annotations": []}]})
    output += [{"type": "function_call", "id": f"fc_{i}", "call_id": f"call_{i}", "name": name,
                "arguments": _arg_text(args), "status": "completed"}
               for i, (name, args) in enumerate(tool_calls or [])]
    return {"id": "resp_test", "object": "response", "created_at": 1_700_000_000,
            "status": "completed", "model": model, "output": output,
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                      "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                      "output_tokens_details": {"reasoning_tokens": 0}}}


def anthropic_body(text: str | None = "ok", tool_calls: list[tuple[str, Any]] | None = None,
                   model: str = "claude-test") -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if text is not None:
        content.append({"type": "text", "text": text})
    content += [{"type": "tool_use", "id": f"toolu_{i}", "name": name,
                 "input": args if isinstance(args, dict) else json.loads(args)}
                for i, (name, args) in enumerate(tool_calls or [])]
    return {"id": "msg_test", "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": "tool_use" if tool_calls else "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 5}}


def _arg_text(args: Any) -> str:
    return args if isinstance(args, str) else json.dumps(args)


CANNED = {CHAT: openai_chat_body, RESPONSES: openai_responses_body, MESSAGES: anthropic_body}


def error_body(path: str, status: int) -> dict[str, Any]:
    """The vendor's error envelope for ``status``."""
    if path == MESSAGES:
        kind = "rate_limit_error" if status == 429 else "api_error"
        return {"type": "error", "error": {"type": kind, "message": f"test error {status}"}}
    return {"error": {"message": f"test error {status}", "type": "test_error", "code": None,
                      "param": None}}


# -- the server -------------------------------------------------------------------------------

class VendorWire:
    """The server. Scripted answers are used first (per path, in order), then the canned one."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._script: dict[str, deque[Answer]] = {path: deque() for path in PATHS}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def openai_url(self) -> str:
        """``base_url`` for ``openai.OpenAI`` and ``api_base`` for LiteLLM's OpenAI route."""
        return f"{self.url}/v1"

    @property
    def anthropic_url(self) -> str:
        """``base_url`` for ``anthropic.Anthropic`` (the SDK adds ``/v1/messages``)."""
        return self.url

    def script(self, path: str, *answers: Answer) -> None:
        """Answer the next requests to ``path`` with ``answers``, in order."""
        with self._lock:
            self._script[path].extend(answers)

    def reply(self, path: str, body: dict[str, Any]) -> None:
        """Answer the next request to ``path`` with ``body`` (status 200)."""
        self.script(path, Answer(body=body))

    def fail(self, path: str, status: int, times: int = 1) -> None:
        self.script(path, *[Answer(status=status, headers={"retry-after": "0"})] * times)

    def last(self, path: str | None = None) -> Recorded:
        matching = [r for r in self.requests if path is None or r.path == path]
        assert matching, f"no request to {path or 'any path'} was recorded"
        return matching[-1]

    def _next(self, path: str) -> Answer:
        with self._lock:
            queue = self._script.get(path)
            return queue.popleft() if queue else Answer()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        wire = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                text = self.rfile.read(length).decode("utf-8", "replace")
                try:
                    body: Any = json.loads(text)
                except ValueError:
                    body = text
                path = self.path.split("?", 1)[0]
                with wire._lock:
                    wire.requests.append(Recorded(path, dict(self.headers.items()), body))
                if path not in PATHS:
                    return self._send(404, json.dumps(error_body(path, 404)).encode(), {})
                answer = wire._next(path)
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.raw is not None:
                    payload = answer.raw
                elif answer.status != 200:
                    payload = json.dumps(answer.body or error_body(path, answer.status)).encode()
                else:
                    model = body.get("model", "test") if isinstance(body, dict) else "test"
                    canned = answer.body or CANNED[path](model=str(model))
                    payload = json.dumps(canned).encode()
                self._send(answer.status, payload, answer.headers)

            def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                if wire._closed.is_set():
                    return
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(payload)  # a client that timed out has hung up

        return Handler

    def __enter__(self) -> VendorWire:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def vendor_wire() -> Iterator[VendorWire]:
    with VendorWire() as wire:
        yield wire

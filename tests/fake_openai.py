"""A scriptable fake OpenAI-compatible chat server on 127.0.0.1, for tests that need real HTTP.

Serves POST /v1/chat/completions (JSON or SSE streaming), GET /v1/models and GET /health,
records every request, answers through a `responder(messages) -> str`, and plays scripted
faults (HTTP errors, 429 with Retry-After, stalls, empty or malformed bodies, streams cut midway).
Use the `fake_openai` fixture (re-exported by tests/conftest.py) or `with FakeOpenAI() as fake:`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import pytest

Messages = list[dict[str, Any]]
Responder = Callable[[Messages], str]
Kind = Literal["ok", "status", "stall", "empty", "malformed", "cut"]


@dataclass(frozen=True)
class Reply:
    """What the fake does for one chat request. Build with the helpers below."""

    kind: Kind
    text: str | None = None  # "ok": fixed answer (None = ask the responder)
    status: int = 200  # "status": the HTTP status
    message: str = ""  # "status": the error message in the body
    retry_after: float | None = None  # "status": Retry-After header, seconds
    seconds: float = 0.0  # "stall": how long to hang before answering
    chunks: int = 2  # "cut": content chunks sent before the connection is dropped


def ok(text: str | None = None) -> Reply:
    """Answer normally, with `text` or whatever the responder says."""
    return Reply("ok", text=text)


def status(code: int, message: str = "fake failure") -> Reply:
    """Reply with an OpenAI-style error body and this HTTP status (500, 401, 404, ...)."""
    return Reply("status", status=code, message=message)


def unauthorized() -> Reply:
    return Reply("status", status=401, message="Incorrect API key provided")


def rate_limited(retry_after: float = 1.0) -> Reply:
    """HTTP 429 with `Retry-After: <retry_after>`."""
    return Reply("status", status=429, message="Rate limit reached", retry_after=retry_after)


def stall(seconds: float = 30.0) -> Reply:
    """Hang this long before answering (longer than the client's timeout)."""
    return Reply("stall", seconds=seconds)


def empty() -> Reply:
    """HTTP 200 with an empty body (or an SSE stream with no events)."""
    return Reply("empty")


def malformed() -> Reply:
    """HTTP 200 whose body (or first SSE event) is not valid JSON."""
    return Reply("malformed")


def cut_stream(chunks: int = 2) -> Reply:
    """Send `chunks` pieces of the answer, then drop the connection (for non-streaming: half a body)."""
    return Reply("cut", chunks=chunks)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict[str, Any] | None
    at: float = field(default_factory=time.monotonic)

    @property
    def messages(self) -> Messages:
        return list((self.body or {}).get("messages", []))

    @property
    def prompt(self) -> str:
        """All message contents joined, for simple `in` assertions."""
        return "\n".join(str(m.get("content", "")) for m in self.messages)


def default_responder(messages: Messages) -> str:
    return "OK"


@dataclass
class FakeOpenAI:
    """The fake server. `script(...)` queues replies for the next chat requests; then `ok()` forever."""

    responder: Responder = default_responder
    model: str = "fake-model"
    api_key: str | None = None  # when set, requests must carry `Authorization: Bearer <api_key>`
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- control -----------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        handler = type("_Handler", (_Handler,), {"fake": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next chat requests, in order."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def last_messages(self) -> Messages:
        return self.chat_requests[-1].messages

    # --- used by the handler --------------------------------------------------------------
    def _next_reply(self) -> Reply:
        with self._lock:
            return self._queue.popleft() if self._queue else ok()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that time out or hang up mid-answer are part of the test plan


class _Handler(BaseHTTPRequestHandler):
    fake: FakeOpenAI
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    # --- plumbing -------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {k.lower(): v for k, v in self.headers.items()}

    def _read_body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _send(self, code: int, payload: bytes, content_type: str = "application/json", **headers: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_json(self, code: int, obj: object, **headers: str) -> None:
        self._send(code, json.dumps(obj).encode(), **headers)

    def _error(self, code: int, message: str, **headers: str) -> None:
        kinds = {401: "invalid_request_error", 429: "rate_limit_exceeded"}
        body = {"error": {"message": message, "type": kinds.get(code, "server_error"), "code": code}}
        self._send_json(code, body, **headers)

    def _authorized(self) -> bool:
        expected = self.fake.api_key
        return expected is None or self.headers.get("Authorization") == f"Bearer {expected}"

    # --- routes -------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self.fake._record(RecordedRequest("GET", self.path, self._headers(), None))
        if self.path == "/health":
            self._send_json(200, {"status": "ok"})
        elif self.path.rstrip("/") == "/v1/models":
            if not self._authorized():
                self._error(401, "Invalid API Key")
                return
            self._send_json(
                200, {"object": "list", "data": [{"id": self.fake.model, "object": "model", "owned_by": "fake"}]}
            )
        else:
            self._error(404, f"no route {self.path}")

    def do_POST(self) -> None:
        body = self._read_body()
        self.fake._record(RecordedRequest("POST", self.path, self._headers(), body))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._error(404, f"no route {self.path}")
            return
        if body is None or not isinstance(body.get("messages"), list):
            self._error(400, "request body must be JSON with a `messages` list")
            return
        if not self._authorized():
            self._error(401, "Invalid API Key")
            return
        reply = self.fake._next_reply()
        if reply.kind == "stall":
            if self.fake._closing.wait(reply.seconds):
                return
            reply = ok()
        if reply.kind == "status":
            extra = {} if reply.retry_after is None else {"Retry_After": f"{reply.retry_after:g}"}
            self._error(reply.status, reply.message, **extra)
            return
        try:
            text = reply.text if reply.text is not None else self.fake.responder(body["messages"])
        except Exception as exc:  # a bug in a test's responder: make it visible as an HTTP 500
            self._error(500, f"fake responder failed: {exc!r}")
            return
        if body.get("stream"):
            self._stream(reply, text, body)
        else:
            self._complete(reply, text, body)

    def _completion(self, text: str, body: dict[str, Any]) -> dict[str, Any]:
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.fake.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": len(text.split()),
                "total_tokens": prompt_tokens + len(text.split()),
            },
        }

    def _complete(self, reply: Reply, text: str, body: dict[str, Any]) -> None:
        if reply.kind == "empty":
            self._send(200, b"")
        elif reply.kind == "malformed":
            self._send(200, b'{"id": "chatcmpl-broken", "choices": [{"index": 0, "mess')
        elif reply.kind == "cut":
            payload = json.dumps(self._completion(text, body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self._send_json(200, self._completion(text, body))

    def _stream(self, reply: Reply, text: str, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def send_raw(data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def send_event(obj: object) -> None:
            send_raw(b"data: " + json.dumps(obj).encode() + b"\n\n")

        if reply.kind == "empty":
            send_raw(b"")  # the terminating zero-length chunk: a stream with no events at all
            return
        if reply.kind == "malformed":
            send_raw(b'data: {"id": "chatcmpl-broken", "choices": [{"delta": \n\n')
            send_raw(b"data: [DONE]\n\n")
            send_raw(b"")
            return

        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model") or self.fake.model,
        }
        pieces = [w + " " for w in text.split(" ")]
        pieces[-1] = pieces[-1][:-1]
        send_event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]})
        for piece in pieces[: reply.chunks] if reply.kind == "cut" else pieces:
            send_event({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
        if reply.kind == "cut":
            self.close_connection = True  # drop the socket: no finish_reason, no [DONE], no final chunk
            return
        send_event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = self._completion(text, body)["usage"]
            send_event({**base, "choices": [], "usage": usage})
        send_raw(b"data: [DONE]\n\n")
        send_raw(b"")


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A running fake OpenAI-compatible server; `fake_openai.base_url` ends in /v1."""
    with FakeOpenAI() as server:
        yield server

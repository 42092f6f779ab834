"""A real local HTTP server speaking the OpenAI-compatible Chat Completions protocol.

For tests and benchmarks: it listens on 127.0.0.1 on a free port and answers each
POST /v1/chat/completions with the next scripted reply, recording every request.

    with OpenAIServer() as server:
        server.push(Turn(text="hi"), Turn(tool_calls=[("read_file", {"path": "a.py"})]))
        model = OpenAIModel("m", base_url=server.base_url, api_key="k")
        ...
        assert server.requests[0].body["model"] == "m"

Scripted replies:
  - `Turn(...)`: one assistant turn, rendered as a JSON completion or as an SSE
    stream (text and tool-call deltas split into chunks) to match the request's
    `stream` flag; options for finish_reason, usage, cached tokens, a delay before
    the headers, a delay before the first event (prompt processing), a pause between
    events, a connection dropped mid-stream, a stream that stalls, no usage chunk.
  - `Raw(status, body, headers)`: any status with any body (429 + Retry-After, 500,
    context-length error, ...). Helpers: `error()`, `rate_limited()`,
    `context_length_error()`.
Fixed-delay mode (`OpenAIServer(responder=fn, delay=0.05)`): every request not
covered by the queue is answered by `fn(request)` after `delay` seconds; the batch
benchmark uses it to simulate a model with a known latency.
With neither a queued reply nor a responder the server answers 418 with a message
saying so (not retried by the client), so a test with a short script fails clearly.

GET /v1/models lists `models` (or `model_entries` as given, e.g. llama.cpp's with `meta`);
GET /props answers `props` when set (llama.cpp). `disconnects` counts replies the client
hung up on before their end (a cancelled call reaches the server). Use as a context manager, or the `openai_server`
pytest fixture (import it into a test module).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

try:  # benchmarks import this module without pytest
    import pytest
except ImportError:  # pragma: no cover
    pytest = None  # type: ignore[assignment]


@dataclass
class Turn:
    """One assistant turn. `tool_calls`: (name, args) pairs; args a dict or raw text."""

    text: str | None = None
    tool_calls: list[tuple[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None  # None: "tool_calls" when there are calls, else "stop"
    prompt_tokens: int = 11
    completion_tokens: int = 7
    cached_tokens: int | None = None
    send_usage: bool = True  # False: no usage at all (some local servers)
    chunk_size: int = 3  # characters per streamed text / arguments delta
    interleave: bool = False  # stream the argument deltas of several calls interleaved
    delay: float = 0.0  # seconds before the response starts
    chunk_delay: float = 0.0  # seconds between streamed events
    drop_after: int | None = None  # stream: close the connection after this many events
    stall_after: int | None = None  # stream: after this many events send nothing more (until closed)
    first_delay: float = 0.0  # stream: seconds between the headers and the first event (prompt processing)
    model: str | None = None


@dataclass
class Raw:
    """A literal response: status, JSON (dict/list) or bytes body, headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def error(status: int, message: str, *, code: str | None = None, type_: str = "invalid_request_error",
          headers: dict[str, str] | None = None) -> Raw:
    return Raw(status, {"error": {"message": message, "type": type_, "param": None, "code": code}},
               headers or {})


def rate_limited(retry_after: float | None = None, *, retry_after_ms: int | None = None) -> Raw:
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    if retry_after_ms is not None:
        headers["retry-after-ms"] = str(retry_after_ms)
    return error(429, "Rate limit reached, slow down.", code="rate_limit_exceeded",
                 type_="requests", headers=headers)


def context_length_error(limit: int = 8192, asked: int = 9000) -> Raw:
    return error(400, f"This model's maximum context length is {limit} tokens. However, your messages "
                      f"resulted in {asked} tokens. Please reduce the length of the messages.",
                 code="context_length_exceeded")


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: Any


def _lower(headers: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


Reply = Turn | Raw
Responder = Callable[[RecordedRequest], Reply]


class OpenAIServer:
    def __init__(self, *, responder: Responder | None = None, delay: float = 0.0,
                 models: list[str] | None = None):
        self.responder = responder
        self.delay = delay
        self.models = models if models is not None else ["test-model"]
        self.models_reply: Raw | None = None  # set to answer GET /models with e.g. error(401, ...)
        self.model_entries: list[dict[str, Any]] | None = None  # GET /models `data` as is (llama.cpp, vLLM)
        self.props: dict[str, Any] | None = None  # GET /props (llama.cpp); 404 when None
        self.disconnects = 0  # streams the client hung up on before their end
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0  # chat requests being answered now
        self.max_in_flight = 0  # the most answered at once (did clients run in parallel?)
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> "OpenAIServer":
        handler = type("Handler", (_Handler,), {"owner": self})
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "OpenAIServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- script ----------------------------------------------------------------------
    def push(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _next_reply(self, request: RecordedRequest) -> tuple[Reply, float]:
        with self._lock:
            self.requests.append(request)
            if self._queue:
                return self._queue.popleft(), 0.0
        if self.responder is not None:
            return self.responder(request), self.delay
        n = len(self.chat_requests)
        return error(418, f"openai_server: no scripted reply left for chat request {n}"), 0.0

    def wait(self, seconds: float) -> bool:
        """Sleep that ends early when the server closes; True if it closed."""
        return self._closing.wait(seconds) if seconds > 0 else self._closing.is_set()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 256  # many concurrent clients (batch benchmark) without SYN retries

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hanging up are normal
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    owner: OpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()  # headers and body go out in separate writes: no Nagle delay
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        record = RecordedRequest("GET", self.path, _lower(self.headers), None)
        with self.owner._lock:
            self.owner.requests.append(record)
        if self.path.rstrip("/").endswith("/models") and self.owner.models_reply is not None:
            self._send_raw(self.owner.models_reply)
        elif self.path.rstrip("/").endswith("/models"):
            data = self.owner.model_entries
            if data is None:
                data = [{"id": m, "object": "model", "created": 0, "owned_by": "test"} for m in self.owner.models]
            self._send_json(200, {"object": "list", "data": data})
        elif self.path.rstrip("/") == "/props" and self.owner.props is not None:
            self._send_json(200, self.owner.props)
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}", "code": "not_found"}})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw or b"null")
        except json.JSONDecodeError:
            body = raw.decode("utf-8", "replace")
        request = RecordedRequest("POST", self.path, _lower(self.headers), body)
        if not self.path.rstrip("/").endswith("/chat/completions"):
            with self.owner._lock:
                self.owner.requests.append(request)
            self._send_json(404, {"error": {"message": f"no route {self.path}", "code": "not_found"}})
            return
        reply, base_delay = self.owner._next_reply(request)
        owner = self.owner
        with owner._lock:
            owner.in_flight += 1
            owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
        try:
            if owner.wait(base_delay + reply.delay):
                return
            if isinstance(reply, Raw):
                self._send_raw(reply)
            elif isinstance(body, dict) and body.get("stream"):
                self._send_stream(reply, body)
            else:
                self._send_json(200, completion_json(reply, body))
        except (BrokenPipeError, ConnectionResetError):
            with owner._lock:  # the client gave up (timeout, cancel): nothing to answer
                owner.disconnects += 1
        finally:
            with owner._lock:
                owner.in_flight -= 1

    # -- writers ---------------------------------------------------------------------
    def _send_json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        payload = data if isinstance(data, bytes) else json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_raw(self, reply: Raw) -> None:
        body = reply.body if reply.body is not None else b""
        if isinstance(body, str):
            body = body.encode()
        self._send_json(reply.status, body, reply.headers)

    def _send_stream(self, turn: Turn, body: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        for n, event in enumerate(stream_events(turn, body, include_usage)):
            if turn.drop_after is not None and n >= turn.drop_after:
                self.wfile.flush()
                self.close_connection = True
                return  # no terminating chunk: the client sees a broken stream
            if turn.stall_after is not None and n >= turn.stall_after:
                self._stall()
                return
            if self.owner.wait(turn.first_delay if n == 0 else turn.chunk_delay):
                return
            self._write_chunk(event.encode())
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _stall(self) -> None:
        """Send nothing more, but notice when the client hangs up (or the server closes)."""
        self.connection.settimeout(0.05)
        while not self.owner.wait(0.05):
            try:
                if self.connection.recv(1) == b"":
                    raise ConnectionResetError("client hung up")
            except TimeoutError:
                continue
        self.close_connection = True

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


# -- rendering turns -------------------------------------------------------------------
def _finish(turn: Turn) -> str:
    return turn.finish_reason or ("tool_calls" if turn.tool_calls else "stop")


def _args_text(args: Any) -> str:
    return args if isinstance(args, str) else json.dumps(args)


def _usage(turn: Turn) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "prompt_tokens": turn.prompt_tokens,
        "completion_tokens": turn.completion_tokens,
        "total_tokens": turn.prompt_tokens + turn.completion_tokens,
    }
    if turn.cached_tokens is not None:
        usage["prompt_tokens_details"] = {"cached_tokens": turn.cached_tokens}
    return usage


def completion_json(turn: Turn, body: Any) -> dict[str, Any]:
    """The non-streamed completion object for `turn`."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.text}
    if turn.tool_calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": _args_text(args)}}
            for i, (name, args) in enumerate(turn.tool_calls)
        ]
    data: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": turn.model or (body.get("model") if isinstance(body, dict) else None) or "test-model",
        "choices": [{"index": 0, "message": message, "finish_reason": _finish(turn)}],
    }
    if turn.send_usage:
        data["usage"] = _usage(turn)
    return data


def _pieces(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def stream_events(turn: Turn, body: dict[str, Any], include_usage: bool) -> Iterator[str]:
    """The SSE events (as text) streaming `turn`, ending with `data: [DONE]`."""
    model = turn.model or body.get("model") or "test-model"
    head = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    def event(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> str:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        return "data: " + json.dumps({**head, "choices": choices, **extra}) + "\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in _pieces(turn.text or "", turn.chunk_size) if turn.text else []:
        yield event({"content": piece})
    starts, arg_deltas = [], []
    for i, (name, args) in enumerate(turn.tool_calls):
        starts.append({"index": i, "id": f"call_{i}", "type": "function",
                       "function": {"name": name, "arguments": ""}})
        arg_deltas.append([{"index": i, "function": {"arguments": p}}
                           for p in _pieces(_args_text(args), turn.chunk_size)])
    if turn.interleave:
        for start in starts:
            yield event({"tool_calls": [start]})
        longest = max((len(d) for d in arg_deltas), default=0)
        for k in range(longest):
            for deltas in arg_deltas:
                if k < len(deltas):
                    yield event({"tool_calls": [deltas[k]]})
    else:
        for start, deltas in zip(starts, arg_deltas):
            yield event({"tool_calls": [start]})
            for delta in deltas:
                yield event({"tool_calls": [delta]})
    yield event({}, _finish(turn))
    if include_usage and turn.send_usage:
        yield event(None, usage=_usage(turn))
    yield "data: [DONE]\n\n"


# -- pytest ----------------------------------------------------------------------------
def _openai_server() -> Iterator[OpenAIServer]:
    """A started OpenAIServer, closed after the test."""
    with OpenAIServer() as server:
        yield server


openai_server = pytest.fixture(_openai_server, name="openai_server") if pytest else None


# -- by hand ---------------------------------------------------------------------------
def finish_responder(request: RecordedRequest) -> Reply:
    """Answer every call with `finish` when the client offers it, else with text."""
    tools = [t.get("function", {}).get("name") for t in (request.body or {}).get("tools") or []]
    if "finish" in tools:
        return Turn(tool_calls=[("finish", {"summary": "openai_server: nothing done"})])
    return Turn(text="openai_server: ok")


def main() -> None:
    """`python tests/openai_server.py [--delay-ms N]`: serve finish_responder until Ctrl-C."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    with OpenAIServer(responder=finish_responder, delay=args.delay_ms / 1000) as server:
        print(f"OPENAI_BASE_URL={server.base_url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()

"""One model request watched from a helper thread, and cut off when a time limit passes.

A blocking HTTP read cannot be asked to stop, but its socket can be shut down: the
read then returns at once and the client raises. `Watch` learns the request's socket
through the HTTP library's `trace` extension (the connect and TLS events) and, every
`TICK` seconds, checks four limits:

    deadline     an absolute instant (the run's --max-time): the caller must stop now
    total        this call's own limit (request_timeout, retries included)
    first_token  no data yet, this long after the request went out (prompt processing)
    idle         no data for this long since the last data (a stalled stream)

(A response's own `network_stream` is adopted too, as a second way to the socket.)
The first that passes is kept in `reason`, the socket is shut down, and the request
fails within about one tick; the caller reads `reason` to decide what the failure
means. `first_token` and `idle` apply only where data is expected bit by bit (a
stream): pass None to leave them out.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

TICK = 0.05  # seconds between checks: a cut lands well within a second of its limit
SOCKET_EVENTS = ("connection.connect_tcp.complete", "connection.start_tls.complete",
                 "connection.connect_unix_socket.complete")


class Watch:
    def __init__(self, *, ends: float, deadline: float | None = None,
                 first_token: float | None = None, idle: float | None = None):
        self.started = time.monotonic()
        self.ends, self.deadline = ends, deadline
        self.first_token, self.idle = first_token, idle
        self.last_data: float | None = None
        self.reason: str | None = None
        self._sockets: list[Any] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- fed by the request ------------------------------------------------------------
    def trace(self, name: str, info: dict[str, Any]) -> None:
        """The `trace` request extension: keeps the new connection's socket."""
        if name in SOCKET_EVENTS:
            self.adopt(info.get("return_value"))

    def adopt(self, stream: Any) -> None:
        """Keep the socket of a network stream (the HTTP library's) to cut it later."""
        sock = stream.get_extra_info("socket") if stream is not None else None
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            late = self.reason is not None
        if late:  # cut before the socket was known: cut it now
            _shut(sock)

    def data(self) -> None:
        """Some of the reply arrived."""
        self.last_data = time.monotonic()

    # -- the check -----------------------------------------------------------------------
    def expired(self, now: float) -> str | None:
        if self.deadline is not None and now >= self.deadline:
            return "deadline"
        if now >= self.ends:
            return "total"
        if self.last_data is None:
            if self.first_token is not None and now - self.started >= self.first_token:
                return "first_token"
        elif self.idle is not None and now - self.last_data >= self.idle:
            return "idle"
        return None

    def cut(self, reason: str) -> None:
        with self._lock:
            if self.reason is None:
                self.reason = reason
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def _run(self) -> None:
        while not self._stop.wait(TICK):
            reason = self.expired(time.monotonic())
            if reason is not None:
                self.cut(reason)
                return

    def __enter__(self) -> "Watch":
        self._thread = threading.Thread(target=self._run, name="codeagent-model-watch", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


def _shut(sock: Any) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed

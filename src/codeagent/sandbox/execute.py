"""Run one child process with a wall-clock deadline and a streaming output cap.

Shared by every backend. Output is read as it comes (stdout and stderr interleaved)
into a `CappedBuffer` that keeps the head and the tail and counts what it dropped, so
1 GB of output costs a few hundred KB of memory. At the deadline, or as soon as the
main process exits, `kill` is called so nothing the command started lives on.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from dataclasses import dataclass
from typing import Callable, Sequence

READ_CHUNK = 1 << 16
POLL_SECONDS = 0.05  # how often a running command's exit is checked while output is quiet
DRAIN_SECONDS = 2.0  # output still read after a kill, at most


class CappedBuffer:
    """Keeps the first and last `cap // 2` bytes of a stream and counts the rest."""

    def __init__(self, cap: int):
        self.half = max(cap // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 4 * self.half:
                del self.tail[: len(self.tail) - self.half]

    @property
    def dropped(self) -> int:
        return max(self.total - len(self.head) - min(len(self.tail), self.half), 0)

    def text(self) -> str:
        tail = bytes(self.tail[-self.half :]) if self.tail else b""
        if not self.dropped:
            return (bytes(self.head) + tail).decode("utf-8", "replace")
        marker = f"\n[... {self.dropped} bytes of output dropped ...]\n"
        return bytes(self.head).decode("utf-8", "replace") + marker + tail.decode("utf-8", "replace")


@dataclass
class Execution:
    returncode: int | None  # None when killed at the deadline
    output: str
    dropped: int
    timed_out: bool
    duration: float


def execute(
    argv: Sequence[str],
    *,
    cwd: str,
    env: dict[str, str],
    timeout: float,
    output_cap: int,
    kill: Callable[[subprocess.Popen], None],
    preexec_fn: Callable[[], None] | None = None,
) -> Execution:
    """Run `argv`; `kill(proc)` must end the whole tree (called after exit too)."""
    start = time.monotonic()
    deadline = start + timeout
    buffer = CappedBuffer(output_cap)
    proc = subprocess.Popen(
        list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec_fn,
    )
    timed_out = False
    try:
        timed_out = _pump(proc, buffer, deadline)
    finally:
        kill(proc)  # the deadline passed, or leftovers of a finished command
        _drain(proc, buffer, time.monotonic() + DRAIN_SECONDS)
        proc.stdout.close()
        returncode = proc.wait()
    return Execution(
        returncode=None if timed_out else returncode,
        output=buffer.text(),
        dropped=buffer.dropped,
        timed_out=timed_out,
        duration=time.monotonic() - start,
    )


def _pump(proc: subprocess.Popen, buffer: CappedBuffer, deadline: float) -> bool:
    """Read output until the main process exits and the pipe is idle; True on timeout."""
    fd = proc.stdout.fileno()
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        open_pipe = True
        while True:
            now = time.monotonic()
            if now >= deadline:
                return True
            if open_pipe and sel.select(min(POLL_SECONDS, deadline - now)):
                data = os.read(fd, READ_CHUNK)
                if data:
                    buffer.add(data)
                    continue
                open_pipe = False
                sel.unregister(fd)
            if not open_pipe:
                try:
                    proc.wait(timeout=max(deadline - time.monotonic(), 0))
                    return False
                except subprocess.TimeoutExpired:
                    return True
            elif proc.poll() is not None:
                return False  # exited; whatever it left holding the pipe is killed next


def _drain(proc: subprocess.Popen, buffer: CappedBuffer, until: float) -> None:
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while time.monotonic() < until:
            if not sel.select(max(until - time.monotonic(), 0)):
                return
            try:
                data = os.read(fd, READ_CHUNK)
            except BlockingIOError:
                continue
            if not data:
                return
            buffer.add(data)

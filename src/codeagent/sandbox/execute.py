"""Run one child process with a wall-clock deadline and a streaming output cap.

Shared by every backend. Output is read as it comes (stdout and stderr interleaved)
into a `CappedBuffer` that keeps the head and the tail and counts what it dropped, so
1 GB of output costs a few hundred KB of memory. At the deadline, or as soon as the
main process exits, `kill` is called so nothing the command started lives on.
"""

from __future__ import annotations

import fcntl
import os
import selectors
import subprocess
import time
from dataclasses import dataclass
from typing import Callable, Sequence

READ_CHUNK = 1 << 20
PIPE_SIZE = 1 << 20  # fewer wake-ups when a command floods its output
F_SETPIPE_SZ = 1031
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
    start: Callable[[list[str], str, dict[str, str]], subprocess.Popen] | None = None,
) -> Execution:
    """Run `argv`; `kill(proc)` must end the whole tree (called after exit too).

    `start(argv, cwd, env)` starts the process (default: a `Child`, in a new session,
    stdin closed, stdout and stderr on one pipe); what it returns needs Popen's pid,
    stdout, poll() and wait(), and `exit_fd()`, a fd that turns readable at exit.
    """
    began = time.monotonic()
    deadline = began + timeout
    buffer = CappedBuffer(output_cap)
    proc = (start or Child.start)(list(argv), cwd, env)
    try:
        fcntl.fcntl(proc.stdout.fileno(), F_SETPIPE_SZ, PIPE_SIZE)
    except OSError:
        pass  # over /proc/sys/fs/pipe-max-size: keep the default
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
        duration=time.monotonic() - began,
    )


class Child(subprocess.Popen):
    """A plain child process, as `execute` starts it by default."""

    @classmethod
    def start(cls, argv: list[str], cwd: str, env: dict[str, str]) -> "Child":
        return cls(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                   stderr=subprocess.STDOUT, start_new_session=True)

    def exit_fd(self) -> int:
        """A pidfd that turns readable when the process exits (Linux 5.3+)."""
        return os.pidfd_open(self.pid)


def _exit_fd(proc) -> int | None:
    try:
        return proc.exit_fd()
    except (AttributeError, OSError):
        return None  # no pidfd here: exit is polled


def _pump(proc, buffer: CappedBuffer, deadline: float) -> bool:
    """Read output until the main process has exited and the pipe is idle or closed.

    Exit is seen through a pidfd in the same select as the output, so a short
    command costs no polling delay; without pidfd it is polled every POLL_SECONDS.
    Returns True when the deadline passed first.
    """
    out_fd, exit_fd = proc.stdout.fileno(), _exit_fd(proc)
    exited = 0.0  # when the main process was seen to exit
    with selectors.DefaultSelector() as sel:
        sel.register(out_fd, selectors.EVENT_READ)
        if exit_fd is not None:
            sel.register(exit_fd, selectors.EVENT_READ)
        try:
            while True:
                now = time.monotonic()
                if now >= deadline:
                    return True
                if exited and now - exited > DRAIN_SECONDS:
                    return False  # something it left behind keeps writing; it is killed next
                wait = deadline - now if exit_fd is not None else min(POLL_SECONDS, deadline - now)
                ready = {key.fd for key, _ in sel.select(POLL_SECONDS if exited else wait)}
                if out_fd in ready:
                    data = os.read(out_fd, READ_CHUNK)
                    if data:
                        buffer.add(data)
                        continue
                    sel.unregister(out_fd)  # EOF: every writer is gone
                    if exited or proc.poll() is not None:
                        return False
                    continue
                if exit_fd in ready:
                    sel.unregister(exit_fd)
                    exited = time.monotonic()
                    if out_fd not in sel.get_map():
                        return False  # exited after its output closed
                    continue
                if exited or (exit_fd is None and proc.poll() is not None):
                    return False  # exited and output idle; leftovers holding the pipe are killed next
        finally:
            if exit_fd is not None:
                os.close(exit_fd)


def _drain(proc, buffer: CappedBuffer, until: float) -> None:
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

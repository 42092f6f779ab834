"""The `local` batch engine: one fresh process per attempt, `workers` at a time.

Processes come from a forkserver that has already imported codeagent, so starting
one costs a fork, not an interpreter start, and never inherits the parent's threads
(the progress bar's). Each child starts its own session (process group) and writes
its stdout/stderr to `attempt_dir/worker.log`; the record comes back over a pipe as
JSON. A child that dies without sending one is recorded as `crashed`; one that
overruns its timeout has its whole process group killed and is recorded as `timeout`.

Attempts are prepared ahead: while `workers` attempts talk to the model, up to
`prefetch` more set up (clone, worktree, sandbox, prompt, baseline tests) and wait at
their first model call (`TaskRunner.ready`) for a free slot, so setup never keeps the
model waiting. A held attempt's timeout and wall time count from when it is let go.
"""

from __future__ import annotations

import dataclasses
import json
import math
import multiprocessing
import os
import shutil
import signal
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable

from codeagent.batch.engine import Job, OnResult, OnStart, describe_exit
from codeagent.batch.results import failure_record
from codeagent.batch.worker import execute

# The forkserver re-runs the parent's main script in each child (spawn semantics), so
# the `codeagent` console script's one import is preloaded too.
PRELOAD = ["codeagent.batch.worker", "codeagent.batch.preload", "codeagent.cli.main"]


READY = b"ready"  # a child at its gate: prepared, waiting for a model slot
GO = b"go"


@dataclass
class _Slot:
    job: Job
    process: Any
    conn: Connection  # child -> engine: READY, then the record
    go: Connection | None  # engine -> child: GO (None: the attempt does not wait)
    started: float
    deadline: float
    active: bool  # may call the model: counts against `workers`
    waiting: bool = False  # at its gate


def _child(run_one: Callable[..., dict[str, Any]], job: Job, conn: Connection, go: Connection | None) -> None:
    """Worker entry: own process group, output to a log file, record back as JSON."""
    os.setsid()
    job.attempt_dir.mkdir(parents=True, exist_ok=True)
    log = os.open(job.attempt_dir / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    if go is not None:
        run_one = dataclasses.replace(run_one, ready=lambda: _gate(conn, go))
    record = execute(run_one, job.task, job.attempt, job.attempt_dir)
    conn.send_bytes(json.dumps(record, default=str).encode("utf-8"))
    conn.close()


def _gate(conn: Connection, go: Connection) -> None:
    conn.send_bytes(READY)
    go.recv_bytes()  # EOFError when the engine is gone: the attempt ends there


class LocalEngine:
    """`prefetch`: attempts prepared ahead (workspace, sandbox, prompt, baseline tests)
    that wait at their first model call until one of the `workers` slots is free, so
    the model is never idle while an attempt sets up; only for a `run_one` with a
    `ready` field (`TaskRunner`). Default: as many as `workers`."""

    name = "local"

    def __init__(self, workers: int = 1, address: str | None = None, start_method: str = "forkserver",
                 prefetch: int | None = None):
        self.workers = max(1, int(workers))
        self.prefetch = self.workers if prefetch is None else max(0, int(prefetch))
        self.context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self.context.set_forkserver_preload(PRELOAD)

    def run(self, jobs: list[Job], run_one: Callable[..., dict[str, Any]], on_result: OnResult,
            on_start: OnStart | None = None) -> None:
        pending = deque(jobs)
        running: dict[Connection, _Slot] = {}
        exiting: list[_Slot] = []  # reported their record; reaped once their successors run
        gated = dataclasses.is_dataclass(run_one) and any(f.name == "ready" for f in dataclasses.fields(run_one))
        ahead = self.prefetch if gated else 0
        try:
            while pending or running:
                while pending:
                    active = self._active(running) < self.workers
                    if not (active or self._may_prepare(running, ahead)):
                        break
                    slot = self._start(pending.popleft(), run_one, gated, active)
                    running[slot.conn] = slot
                    if on_start and slot.active:
                        on_start(slot.job)
                while exiting:
                    done = exiting.pop()
                    done.process.join(timeout=2)  # its own exit first, then whatever it left running
                    self._kill(done)
                self._collect(running, on_result, exiting)
                self._promote(running, on_start)
        finally:
            for slot in exiting:
                self._kill(slot)
            for slot in list(running.values()):
                self._kill(slot)
                _remove_workspace(slot.job.attempt_dir)

    def close(self) -> None:
        """Nothing to release: every attempt's process is gone when `run` returns."""

    @staticmethod
    def _active(running: dict[Connection, _Slot]) -> int:
        return sum(1 for s in running.values() if s.active)

    @staticmethod
    def _may_prepare(running: dict[Connection, _Slot], ahead: int) -> bool:
        """Room for one more prepared attempt, started only once every running attempt
        is past its own setup (setups at once would slow the ones the model waits for)."""
        return sum(1 for s in running.values() if not s.active) < ahead and all(s.waiting for s in running.values())

    def _start(self, job: Job, run_one: Callable[..., dict[str, Any]], gated: bool, active: bool) -> _Slot:
        receiver, sender = self.context.Pipe(duplex=False)
        go_receiver, go_sender = self.context.Pipe(duplex=False) if gated else (None, None)
        process = self.context.Process(target=_child, args=(run_one, job, sender, go_receiver), daemon=False,
                                       name=f"codeagent-batch-{job.task.id}-{job.attempt}")
        process.start()
        sender.close()
        if go_receiver is not None:
            go_receiver.close()
            if active:
                go_sender.send_bytes(GO)  # granted at once: it does not wait at its gate
        now = time.monotonic()
        return _Slot(job, process, receiver, go_sender, now, now + job.timeout, active)

    def _promote(self, running: dict[Connection, _Slot], on_start: OnStart | None) -> None:
        """Free model slots go to prepared attempts, those waiting at their gate first;
        an attempt's timeout counts from here."""
        idle = sorted((s for s in running.values() if not s.active), key=lambda s: (not s.waiting, s.started))
        for slot in idle[: self.workers - self._active(running)]:
            try:
                slot.go.send_bytes(GO)
            except OSError:
                pass  # it died; its sentinel reports that
            slot.active, slot.deadline = True, time.monotonic() + slot.job.timeout
            if on_start:
                on_start(slot.job)

    def _collect(self, running: dict[Connection, _Slot], on_result: OnResult, exiting: list[_Slot]) -> None:
        """Wait for a message, a death or the nearest deadline; report what happened.
        An attempt that sent its record goes to `exiting`: its process is still ending."""
        now = time.monotonic()
        wait_for = max(0.0, min(s.deadline for s in running.values()) - now)
        ready = wait([*running, *(s.process.sentinel for s in running.values())],
                     timeout=None if math.isinf(wait_for) else wait_for)
        by_sentinel = {s.process.sentinel: s for s in running.values()}
        finished: list[tuple[_Slot, dict[str, Any]]] = []
        for item in ready:
            slot = running.get(item) or by_sentinel.get(item)
            if slot is None or slot.conn not in running:
                continue
            record = self._receive(slot, exiting)
            if record is None:
                continue  # it reached its gate
            del running[slot.conn]
            finished.append((slot, record))
        now = time.monotonic()
        for slot in [s for s in running.values() if s.deadline <= now]:
            del running[slot.conn]
            self._kill(slot)
            _remove_workspace(slot.job.attempt_dir)
            finished.append((slot, failure_record(
                slot.job.task, slot.job.attempt, "timeout", f"timeout:{slot.job.timeout:g}s",
                error=f"killed after {slot.job.timeout:g}s wall clock", wall_time=now - slot.started)))
        for slot, record in finished:
            on_result(slot.job, record)

    def _receive(self, slot: _Slot, exiting: list[_Slot]) -> dict[str, Any] | None:
        """The child's record; None when it only said it is at its gate; a `crashed`
        record if it died without one."""
        data = None
        try:
            while slot.conn.poll(0.5 if not slot.process.is_alive() else 5.0):
                data = slot.conn.recv_bytes()
                if data != READY:
                    break
                if slot.process.is_alive():
                    slot.waiting = True
                    if not slot.active:
                        slot.deadline = math.inf  # waiting for a slot is not running over time
                    return None
                data = None
        except (EOFError, OSError):
            data = None
        if data is not None:
            try:
                record = json.loads(data)
            except ValueError:
                record = None
            if record is not None:
                exiting.append(slot)  # killed (with whatever it left running) after the next start
                return record
        slot.process.join(timeout=10)
        self._kill(slot)
        how = describe_exit(slot.process.exitcode)
        _remove_workspace(slot.job.attempt_dir)
        return failure_record(slot.job.task, slot.job.attempt, "crashed", f"crashed:{how}",
                              error=f"worker process ended ({how}) without a result\n{_log_tail(slot.job)}",
                              wall_time=time.monotonic() - slot.started)

    def _kill(self, slot: _Slot) -> None:
        """Kill the attempt's whole process group (also anything it left running)."""
        pid = slot.process.pid
        if pid:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                if slot.process.exitcode is None:
                    slot.process.kill()
        slot.process.join(timeout=10)
        for conn in (slot.conn, slot.go):
            try:
                if conn is not None:
                    conn.close()
            except OSError:
                pass


def _remove_workspace(attempt_dir: Path) -> None:
    shutil.rmtree(Path(attempt_dir) / "workspace", ignore_errors=True)


def _log_tail(job: Job, limit: int = 2000) -> str:
    try:
        return (job.attempt_dir / "worker.log").read_text(errors="replace")[-limit:]
    except OSError:
        return ""

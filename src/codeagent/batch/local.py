"""The `local` batch engine: one fresh process per attempt, `workers` at a time.

Processes come from a forkserver that has already imported codeagent, so starting
one costs a fork, not an interpreter start, and never inherits the parent's threads
(the progress bar's). Each child starts its own session (process group) and writes
its stdout/stderr to `attempt_dir/worker.log`; the record comes back over a pipe as
JSON. A child that dies without sending one is recorded as `crashed`; one that
overruns its timeout has its whole process group killed and is recorded as `timeout`.
"""

from __future__ import annotations

import json
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


@dataclass
class _Slot:
    job: Job
    process: Any
    conn: Connection
    started: float
    deadline: float


def _child(run_one: Callable[..., dict[str, Any]], job: Job, conn: Connection) -> None:
    """Worker entry: own process group, output to a log file, record back as JSON."""
    os.setsid()
    job.attempt_dir.mkdir(parents=True, exist_ok=True)
    log = os.open(job.attempt_dir / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    record = execute(run_one, job.task, job.attempt, job.attempt_dir)
    conn.send_bytes(json.dumps(record, default=str).encode("utf-8"))
    conn.close()


class LocalEngine:
    name = "local"

    def __init__(self, workers: int = 1, address: str | None = None, start_method: str = "forkserver"):
        self.workers = max(1, int(workers))
        self.context = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self.context.set_forkserver_preload(PRELOAD)

    def run(self, jobs: list[Job], run_one: Callable[..., dict[str, Any]], on_result: OnResult,
            on_start: OnStart | None = None) -> None:
        pending = deque(jobs)
        running: dict[Connection, _Slot] = {}
        try:
            while pending or running:
                while pending and len(running) < self.workers:
                    slot = self._start(pending.popleft(), run_one)
                    running[slot.conn] = slot
                    if on_start:
                        on_start(slot.job)
                self._collect(running, on_result)
        finally:
            for slot in list(running.values()):
                self._kill(slot)
                _remove_workspace(slot.job.attempt_dir)

    def close(self) -> None:
        """Nothing to release: every attempt's process is gone when `run` returns."""

    def _start(self, job: Job, run_one: Callable[..., dict[str, Any]]) -> _Slot:
        receiver, sender = self.context.Pipe(duplex=False)
        process = self.context.Process(target=_child, args=(run_one, job, sender), daemon=False,
                                       name=f"codeagent-batch-{job.task.id}-{job.attempt}")
        process.start()
        sender.close()
        now = time.monotonic()
        return _Slot(job, process, receiver, now, now + job.timeout)

    def _collect(self, running: dict[Connection, _Slot], on_result: OnResult) -> None:
        """Wait for a record, a death or the nearest deadline; report what happened."""
        now = time.monotonic()
        wait_for = max(0.0, min(s.deadline for s in running.values()) - now)
        ready = wait([*running, *(s.process.sentinel for s in running.values())], timeout=wait_for)
        by_sentinel = {s.process.sentinel: s for s in running.values()}
        finished: list[tuple[_Slot, dict[str, Any]]] = []
        for item in ready:
            slot = running.get(item) or by_sentinel.get(item)
            if slot is None or slot.conn not in running:
                continue
            record = self._receive(slot)
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

    def _receive(self, slot: _Slot) -> dict[str, Any]:
        """The child's record, or a `crashed` record if it died without one."""
        data = None
        try:
            if slot.conn.poll(0.5 if not slot.process.is_alive() else 5.0):
                data = slot.conn.recv_bytes()
        except (EOFError, OSError):
            data = None
        slot.process.join(timeout=2 if data is not None else 10)
        self._kill(slot)  # also whatever the attempt left running in its group
        if data is not None:
            try:
                return json.loads(data)
            except ValueError:
                pass
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
        try:
            slot.conn.close()
        except OSError:
            pass


def _remove_workspace(attempt_dir: Path) -> None:
    shutil.rmtree(Path(attempt_dir) / "workspace", ignore_errors=True)


def _log_tail(job: Job, limit: int = 2000) -> str:
    try:
        return (job.attempt_dir / "worker.log").read_text(errors="replace")[-limit:]
    except OSError:
        return ""

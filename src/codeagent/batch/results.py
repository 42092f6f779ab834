"""Per-attempt results: the record schema and `DIR/results.jsonl`.

One line per finished attempt, appended with a single `write` on an O_APPEND file and
fsynced, so a crash never leaves half a record behind a good one (a torn last line is
skipped with a warning on reading). When an attempt is run again (`--redo`) its newer
line wins.

Statuses: done (tests pass), not_done (budget or stuck with tests failing), error (a
fault before or during the run), crashed (the attempt raised or its process died),
timeout (killed at the task's wall-clock limit), interrupted.
"""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeagent.batch.tasks import BatchTask

RESULTS_FILE = "results.jsonl"
STATUSES = ("done", "not_done", "planned", "error", "crashed", "timeout", "interrupted")

RECORD_FIELDS = (
    "kind", "task_id", "attempt", "status", "success", "exit_code", "reason", "summary",
    "horizon", "steps", "wall_time", "cpu_time", "tokens", "cost", "tests_before", "tests_after",
    "diff", "session_dir", "error", "expect", "meta", "started_at", "finished_at", "host", "pid",
)


def base_record(task: BatchTask, attempt: int) -> dict[str, Any]:
    """A record with every field present, to be filled in."""
    return {
        "kind": "batch_result",
        "task_id": task.id,
        "attempt": attempt,
        "status": "error",
        "success": False,
        "exit_code": 1,
        "reason": "",
        "summary": "",
        "horizon": task.horizon,
        "steps": 0,
        "wall_time": 0.0,
        "cpu_time": 0.0,
        "tokens": {"prompt": 0, "completion": 0, "cached": 0, "total": 0},
        "cost": 0.0,
        "tests_before": None,
        "tests_after": None,
        "diff": "",
        "session_dir": None,
        "error": None,
        "expect": task.expect,
        "meta": dict(task.meta),
        "started_at": None,
        "finished_at": None,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def failure_record(task: BatchTask, attempt: int, status: str, reason: str, *,
                   error: str | None = None, wall_time: float = 0.0, started_at: float | None = None) -> dict[str, Any]:
    """The record an engine writes when an attempt produced none (crash, timeout)."""
    record = base_record(task, attempt)
    now = time.time()
    record.update(status=status, reason=reason, error=error, wall_time=round(wall_time, 3),
                  started_at=started_at or now - wall_time, finished_at=now)
    return record


def exception_record(task: BatchTask, attempt: int, exc: BaseException, started: float) -> dict[str, Any]:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:]
    return failure_record(task, attempt, "crashed", f"exception:{type(exc).__name__}",
                          error=f"{text}\n{tb}", wall_time=time.monotonic() - started)


def is_success(record: dict[str, Any]) -> bool:
    return bool(record.get("success"))


def record_key(record: dict[str, Any]) -> tuple[str, int]:
    return str(record.get("task_id")), int(record.get("attempt", 0))


@dataclass
class ResultStore:
    """`DIR/results.jsonl`: append records, read back the latest per (task, attempt)."""

    out_dir: Path
    warnings: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.out_dir / RESULTS_FILE

    def append(self, record: dict[str, Any]) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(record, default=str, sort_keys=False) + "\n").encode("utf-8")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            self._heal_torn_tail(fd)
            written = os.write(fd, line)
            while written < len(line):  # a short write is rare; finish the line
                written += os.write(fd, line[written:])
            os.fsync(fd)
        finally:
            os.close(fd)

    def _heal_torn_tail(self, fd: int) -> None:
        """If a previous writer died mid-line, end that line so ours starts clean."""
        size = os.fstat(fd).st_size
        if size == 0:
            return
        with open(self.path, "rb") as fh:
            fh.seek(size - 1)
            if fh.read(1) != b"\n":
                os.write(fd, b"\n")

    def records(self) -> list[dict[str, Any]]:
        """Every valid line, in file order."""
        self.warnings = []
        if not self.path.exists():
            return []
        out = []
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    self.warnings.append(f"{self.path}:{number}: unreadable line skipped")
                    continue
                if isinstance(record, dict) and record.get("kind") == "batch_result" and "task_id" in record:
                    out.append(record)
                else:
                    self.warnings.append(f"{self.path}:{number}: not a batch_result, skipped")
        return out

    def latest(self) -> dict[tuple[str, int], dict[str, Any]]:
        """The newest record of each (task, attempt)."""
        latest: dict[tuple[str, int], dict[str, Any]] = {}
        for record in self.records():
            latest[record_key(record)] = record
        return latest

    def finished(self) -> set[tuple[str, int]]:
        return set(self.latest())

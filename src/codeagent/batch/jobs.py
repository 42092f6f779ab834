"""A batch from tasks to recorded results: plan the (task, attempt) jobs, skip the
ones already in `DIR/results.jsonl` (unless redo), hand the rest to an engine and
append each record the moment it arrives.

Nothing here renders: progress goes to the `on_start` / `on_result` callbacks.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from codeagent.batch.engine import Engine, Job
from codeagent.batch.results import ResultStore
from codeagent.batch.tasks import BatchTask, LineError, task_to_json
from codeagent.batch.worker import attempt_dir_for

DEFAULT_MAX_TIME = 1800.0
TIMEOUT_GRACE = 120.0  # the run's own max_time stops it first; the kill is the backstop


@dataclass
class BatchOutcome:
    """What one `run_batch` did; `records` are the ones written in this run."""

    planned: int
    skipped: int
    records: list[dict[str, Any]] = field(default_factory=list)
    line_errors: list[LineError] = field(default_factory=list)
    wall_time: float = 0.0
    interrupted: bool = False
    kind: str = "batch_outcome"

    @property
    def failed(self) -> int:
        return sum(1 for r in self.records if not r.get("success"))

    def summary(self) -> dict[str, Any]:
        by_status: dict[str, int] = {}
        for record in self.records:
            by_status[record["status"]] = by_status.get(record["status"], 0) + 1
        return {"kind": "batch_summary", "planned": self.planned, "skipped": self.skipped,
                "ran": len(self.records), "succeeded": len(self.records) - self.failed,
                "failed": self.failed, "by_status": by_status, "bad_lines": len(self.line_errors),
                "wall_time": round(self.wall_time, 3), "interrupted": self.interrupted}


def attempts_for(task: BatchTask, override: int | None) -> int:
    return override or task.attempts or 1


def timeout_for(task: BatchTask, default_timeout: float | None, max_time: float = DEFAULT_MAX_TIME) -> float:
    """The wall-clock kill limit: the task's, else the batch's, else its time budget + grace."""
    if task.timeout:
        return task.timeout
    if default_timeout:
        return default_timeout
    return (task.max_time or max_time) + TIMEOUT_GRACE


def plan_jobs(tasks: list[BatchTask], out_dir: Path, *, attempts: int | None = None, redo: bool = False,
              timeout: float | None = None, max_time: float = DEFAULT_MAX_TIME,
              finished: set[tuple[str, int]] | None = None) -> tuple[list[Job], int]:
    """Every (task, attempt) job still to run, attempt-major so each task's first
    attempt comes early; and how many were skipped as already finished."""
    finished = set() if redo else (finished or set())
    jobs, skipped = [], 0
    most = max((attempts_for(t, attempts) for t in tasks), default=0)
    for attempt in range(1, most + 1):
        for task in tasks:
            if attempt > attempts_for(task, attempts):
                continue
            if (task.id, attempt) in finished:
                skipped += 1
                continue
            jobs.append(Job(task, attempt, attempt_dir_for(out_dir, task.id, attempt),
                            timeout_for(task, timeout, max_time)))
    return jobs, skipped


def run_batch(tasks: list[BatchTask], out_dir: Path, engine: Engine, run_one: Callable[..., dict[str, Any]], *,
              attempts: int | None = None, redo: bool = False, timeout: float | None = None,
              max_time: float = DEFAULT_MAX_TIME, line_errors: list[LineError] | None = None,
              on_start: Callable[[Job], None] | None = None,
              on_result: Callable[[Job, dict[str, Any]], None] | None = None,
              on_plan: Callable[[int, int], None] | None = None) -> BatchOutcome:
    """Run what is left of the batch; records are appended to DIR/results.jsonl as they come."""
    out_dir.mkdir(parents=True, exist_ok=True)
    store = ResultStore(out_dir)
    jobs, skipped = plan_jobs(tasks, out_dir, attempts=attempts, redo=redo, timeout=timeout,
                              max_time=max_time, finished=store.finished())
    write_manifest(out_dir, tasks, engine, attempts)
    outcome = BatchOutcome(planned=len(jobs), skipped=skipped, line_errors=list(line_errors or []))
    if on_plan:
        on_plan(len(jobs), skipped)
    started = time.monotonic()

    def record_result(job: Job, record: dict[str, Any]) -> None:
        record["engine"] = engine.name
        store.append(record)
        outcome.records.append(record)
        if on_result:
            on_result(job, record)

    try:
        engine.run(jobs, run_one, record_result, on_start)
    except KeyboardInterrupt:
        outcome.interrupted = True
    finally:
        engine.close()
    outcome.wall_time = time.monotonic() - started
    return outcome


def write_manifest(out_dir: Path, tasks: list[BatchTask], engine: Engine, attempts: int | None) -> None:
    """DIR/tasks.json: the validated tasks of the latest run, so eval can name buckets
    and expected outcomes even for tasks with no result yet."""
    data = {"kind": "batch_manifest", "engine": engine.name, "workers": engine.workers,
            "attempts": attempts, "tasks": [task_to_json(t) for t in tasks]}
    tmp = out_dir / "tasks.json.tmp"
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    tmp.replace(out_dir / "tasks.json")

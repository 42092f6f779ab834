"""The local engine: crash isolation, timeouts, bad lines, resume, atomic results.

The engines take any picklable `run_one(task, attempt, attempt_dir) -> record`; these
tests pass stand-ins defined here, so they exercise the engine and not the agent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from codeagent.batch.jobs import run_batch
from codeagent.batch.local import LocalEngine
from codeagent.batch.results import ResultStore, base_record
from codeagent.batch.tasks import load_tasks


def stand_in(task, attempt, attempt_dir: Path) -> dict:
    """Behaves as the task's meta.do says."""
    do = task.meta.get("do", "ok")
    if do == "raise":
        raise RuntimeError("boom in the task")
    if do == "exit":
        os._exit(7)
    if do == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if do == "hang":
        child = subprocess.Popen(["sleep", "60"])
        (attempt_dir / "grandchild.pid").write_text(str(child.pid))
        child.wait()
    if do == "sleep":
        time.sleep(1.0)
    if do == "flaky" and attempt % 2 == 0:
        raise RuntimeError("even attempts fail")
    record = base_record(task, attempt)
    ok = do != "fail"
    record.update(status="done" if ok else "not_done", success=ok, exit_code=0 if ok else 1,
                  reason="tests_pass" if ok else "budget:steps", steps=int(task.horizon or 1),
                  tokens={"prompt": 10, "completion": 5, "cached": 0, "total": 15}, cost=0.01,
                  diff=f"diff for {task.id}")
    print(f"stand-in ran {task.id}")
    return record


def write_tasks(path: Path, specs: list[dict | str]) -> Path:
    lines = []
    for spec in specs:
        if isinstance(spec, str):
            lines.append(spec)
            continue
        spec = dict(spec)
        task = {"id": spec.pop("id"), "repo": ".", "instruction": "do it", "meta": {"do": spec.pop("do", "ok")}}
        task.update(spec)
        lines.append(json.dumps(task))
    path.write_text("\n".join(lines) + "\n")
    return path


def run(tasks_file: Path, out: Path, workers: int = 2, **kwargs):
    loaded = load_tasks(tasks_file)
    return run_batch(loaded.tasks, out, LocalEngine(workers=workers), stand_in,
                     line_errors=loaded.errors, **kwargs)


def test_crashes_timeouts_and_bad_lines_do_not_stop_the_others(tmp_path):
    tasks = write_tasks(tmp_path / "tasks.jsonl", [
        {"id": "ok1", "horizon": "2"},
        {"id": "raises", "do": "raise"},
        "{this line is broken",
        {"id": "exits", "do": "exit"},
        {"id": "killed", "do": "kill"},
        {"id": "hangs", "do": "hang", "timeout": 4},
        {"id": "fails", "do": "fail"},
        {"id": "ok2"},
    ])
    started = time.monotonic()
    outcome = run(tasks, tmp_path / "out", workers=3)
    assert time.monotonic() - started < 60
    assert [(e.line, e.message[:14]) for e in outcome.line_errors] == [(3, "not valid JSON")]
    by_id = {r["task_id"]: r for r in outcome.records}
    assert set(by_id) == {"ok1", "raises", "exits", "killed", "hangs", "fails", "ok2"}
    assert by_id["ok1"]["status"] == "done" and by_id["ok1"]["success"]
    assert by_id["ok2"]["success"] and by_id["ok1"]["diff"] == "diff for ok1"
    assert by_id["fails"]["status"] == "not_done" and by_id["fails"]["reason"] == "budget:steps"
    assert by_id["raises"]["status"] == "crashed"
    assert by_id["raises"]["reason"] == "exception:RuntimeError"
    assert "boom in the task" in by_id["raises"]["error"]
    assert by_id["exits"]["status"] == "crashed" and by_id["exits"]["reason"] == "crashed:exit:7"
    assert by_id["killed"]["reason"] == "crashed:signal:SIGKILL"
    assert by_id["hangs"]["status"] == "timeout" and by_id["hangs"]["reason"] == "timeout:4s"
    assert 3.9 < by_id["hangs"]["wall_time"] < 15
    grandchild = int((tmp_path / "out/attempts/hangs/1/grandchild.pid").read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{grandchild}").exists() or "Z" in Path(f"/proc/{grandchild}/stat").read_text().split()[2]
    # every record made it to disk, one line each, and the worker's prints went to its log
    on_disk = ResultStore(tmp_path / "out").latest()
    assert {k[0] for k in on_disk} == set(by_id)
    assert "stand-in ran ok1" in (tmp_path / "out/attempts/ok1/1/worker.log").read_text()
    assert json.loads((tmp_path / "out/tasks.json").read_text())["kind"] == "batch_manifest"


def test_rerun_skips_finished_attempts_and_redo_forces(tmp_path):
    tasks = write_tasks(tmp_path / "tasks.jsonl", [{"id": "a"}, {"id": "b", "do": "flaky"}])
    out = tmp_path / "out"
    first = run(tasks, out, attempts=2)
    assert first.planned == 4 and first.skipped == 0
    assert sorted((r["task_id"], r["attempt"], r["success"]) for r in first.records) == [
        ("a", 1, True), ("a", 2, True), ("b", 1, True), ("b", 2, False)]
    again = run(tasks, out, attempts=2)
    assert again.planned == 0 and again.skipped == 4 and again.records == []
    more = run(tasks, out, attempts=3)
    assert more.skipped == 4 and sorted((r["task_id"], r["attempt"]) for r in more.records) == [("a", 3), ("b", 3)]
    redo = run(tasks, out, attempts=1, redo=True)
    assert redo.planned == 2 and redo.skipped == 0
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 8 and len(ResultStore(out).latest()) == 6


def test_a_torn_last_line_is_skipped_and_healed(tmp_path):
    tasks = write_tasks(tmp_path / "tasks.jsonl", [{"id": "a"}, {"id": "b"}])
    out = tmp_path / "out"
    run(tasks, out, workers=1)
    with open(out / "results.jsonl", "a") as fh:
        fh.write('{"kind": "batch_result", "task_id": "c", "att')  # a writer died here
    store = ResultStore(out)
    assert len(store.latest()) == 2 and "unreadable line" in store.warnings[0]
    store.append(base_record(load_tasks(tasks).tasks[0], 9))
    assert len(ResultStore(out).latest()) == 3


def test_workers_run_in_parallel(tmp_path):
    tasks = write_tasks(tmp_path / "tasks.jsonl", [{"id": f"s{i}", "do": "sleep"} for i in range(3)])
    outcome = run(tasks, tmp_path / "out", workers=3)
    assert [r["status"] for r in outcome.records] == ["done"] * 3
    # all three attempts were running at the same moment
    assert max(r["started_at"] for r in outcome.records) < min(r["finished_at"] for r in outcome.records)
    assert len({r["pid"] for r in outcome.records}) == 3


@dataclass
class GatedStandIn:
    """Shaped like TaskRunner: sets up, waits at `ready` (set by the engine), then
    'talks to the model' for a second."""

    ready: Callable[[], None] | None = None

    def __call__(self, task, attempt, attempt_dir: Path) -> dict:
        time.sleep(0.3)  # clone, sandbox, baseline tests
        prepared = time.time()
        if self.ready is not None:
            self.ready()
        gate = time.time()
        time.sleep(2.0)  # long next to setup, so attempts prepared ahead do wait, even on a loaded machine
        record = base_record(task, attempt)
        record.update(status="done", success=True, exit_code=0, reason="tests_pass", steps=1,
                      meta={"prepared": prepared, "gate": gate, "done": time.time()})
        return record


def test_attempts_are_prepared_ahead_but_never_more_than_workers_talk_to_the_model(tmp_path):
    loaded = load_tasks(write_tasks(tmp_path / "tasks.jsonl", [{"id": f"g{i}"} for i in range(5)]))
    outcome = run_batch(loaded.tasks, tmp_path / "out", LocalEngine(workers=2), GatedStandIn())
    marks = [r["meta"] for r in outcome.records]
    assert [r["status"] for r in outcome.records] == ["done"] * 5
    for m in marks:  # at every gate opening, at most 2 attempts are past their gate
        assert sum(1 for o in marks if o["gate"] <= m["gate"] < o["done"]) <= 2
    waited = [m["gate"] - m["prepared"] for m in marks]
    assert sum(1 for w in waited if w > 0.2) >= 2  # prepared while the others ran, then held

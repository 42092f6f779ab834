"""The Ray engine on a real local Ray cluster (2 CPUs, no dashboard), started once for
this module and shut down at its end: same records as the local engine, crash and
timeout isolation."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")

from codeagent.batch.jobs import run_batch  # noqa: E402
from codeagent.batch.local import LocalEngine  # noqa: E402
from codeagent.batch.ray_engine import RayEngine  # noqa: E402
from codeagent.batch.results import base_record  # noqa: E402
from codeagent.batch.suites import suite_tasks_path  # noqa: E402
from codeagent.batch.tasks import load_tasks  # noqa: E402
from codeagent.batch.worker import TaskRunner  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.slow]

VOLATILE = {"wall_time", "cpu_time", "started_at", "finished_at", "host", "pid", "engine", "session_dir", "error"}


@pytest.fixture(scope="module")
def cluster():
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()
    assert not ray.is_initialized()


def stand_in(task, attempt, attempt_dir: Path) -> dict:
    do = task.meta.get("do", "ok")
    if do == "exit":
        os._exit(3)
    if do == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if do == "raise":
        raise ValueError("raised in the task")
    if do == "hang":
        time.sleep(60)
    record = base_record(task, attempt)
    ok = do == "ok" and attempt != 2
    record.update(status="done" if ok else "not_done", success=ok, reason="tests_pass" if ok else "stuck",
                  steps=len(task.id), diff=f"--- {task.id} {attempt}")
    return record


def tasks_file(tmp_path: Path, specs: list[tuple[str, str]]) -> Path:
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps({"id": i, "repo": ".", "instruction": "x", "meta": {"do": d}}) + "\n"
                            for i, d in specs))
    return path


def comparable(records: list[dict]) -> list[dict]:
    """Records without what legitimately differs between runs: times, hosts, paths."""
    out = []
    for record in records:
        record = {k: v for k, v in record.items() if k not in VOLATILE}
        for key in ("tests_before", "tests_after"):
            if record.get(key):
                record[key] = {k: v for k, v in record[key].items() if k != "duration"}
        out.append(record)
    return sorted(out, key=lambda r: (r["task_id"], r["attempt"]))


def test_ray_and_local_engines_record_the_same_results(cluster, tmp_path):
    tasks = load_tasks(tasks_file(tmp_path, [("a", "ok"), ("bb", "ok"), ("ccc", "fail")])).tasks
    local = run_batch(tasks, tmp_path / "local", LocalEngine(workers=2), stand_in, attempts=2)
    remote = run_batch(tasks, tmp_path / "ray", RayEngine(workers=2), stand_in, attempts=2)
    assert len(remote.records) == 6
    assert comparable(remote.records) == comparable(local.records)
    assert {r["engine"] for r in remote.records} == {"ray"}
    assert ray.is_initialized()  # a cluster it joined is left running


def test_ray_engine_isolates_crashes_and_timeouts(cluster, tmp_path):
    path = tasks_file(tmp_path, [("exits", "exit"), ("killed", "kill"), ("raises", "raise"), ("ok", "ok")])
    path.write_text(path.read_text() + json.dumps({"id": "hangs", "repo": ".", "instruction": "x",
                                                   "meta": {"do": "hang"}, "timeout": 2}) + "\n")
    outcome = run_batch(load_tasks(path).tasks, tmp_path / "out", RayEngine(workers=2), stand_in)
    by_id = {r["task_id"]: r for r in outcome.records}
    assert by_id["ok"]["success"]
    assert by_id["exits"]["status"] == "crashed" and by_id["killed"]["status"] == "crashed"
    assert by_id["raises"]["status"] == "crashed" and by_id["raises"]["reason"] == "exception:ValueError"
    assert by_id["hangs"]["status"] == "timeout" and by_id["hangs"]["wall_time"] < 20


def test_smoke_suite_matches_between_engines(cluster, tmp_path):
    tasks = load_tasks(suite_tasks_path("smoke"), allow_scripted=True).tasks[:2]
    runner = TaskRunner(flags={})
    local = run_batch(tasks, tmp_path / "local", LocalEngine(workers=2), runner)
    remote = run_batch(tasks, tmp_path / "ray00", RayEngine(workers=2), runner)  # same path length
    assert [r["status"] for r in comparable(local.records)] == ["done", "not_done"]
    assert comparable(remote.records) == comparable(local.records)

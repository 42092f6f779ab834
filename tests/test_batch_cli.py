"""`codeagent batch` and `codeagent eval` as a user runs them: real subprocesses,
exit codes, JSONL on stdout, people's output on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from codeagent.batch.results import ResultStore


def cli(*args: str, cwd: Path | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "codeagent.cli.main", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def test_a_tasks_file_without_valid_lines_is_a_usage_error_naming_the_lines(tmp_path):
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text('{"id": "a"}\nnot json\n')
    proc = cli("batch", str(tasks), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stderr
    assert "tasks.jsonl:1: repo: required field is missing; instruction: required field is missing" in proc.stderr
    assert "tasks.jsonl:2: not valid JSON" in proc.stderr
    assert "no valid task" in proc.stderr
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_no_model_configured_stops_before_running_anything(tmp_path):
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "a", "repo": str(tmp_path), "instruction": "x"}) + "\n")
    proc = cli("batch", str(tasks), "--out", str(tmp_path / "out"))
    assert proc.returncode == 3, proc.stderr
    assert "model" in proc.stderr.lower()
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_bad_flags_are_usage_errors(tmp_path):
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(json.dumps({"id": "a", "repo": str(tmp_path), "instruction": "x"}) + "\n")
    proc = cli("batch", str(tasks), "--out", str(tmp_path / "o"), "--ray-address", "auto", "--model", "m")
    assert proc.returncode == 2 and "--ray-address needs --engine ray" in proc.stderr
    proc = cli("batch", str(tasks), "--out", str(tmp_path / "o"), "--engine", "spark", "--model", "m")
    assert proc.returncode == 2 and "unknown batch engine 'spark'" in proc.stderr
    proc = cli("batch", str(tasks), "--out", str(tmp_path / "o"), "--attempts", "0", "--model", "m")
    assert proc.returncode == 2 and "--attempts must be at least 1" in proc.stderr
    assert cli("eval").returncode == 2
    proc = cli("eval", "--suite", "nope")
    assert proc.returncode == 2 and "unknown suite 'nope'" in proc.stderr and "smoke" in proc.stderr
    proc = cli("eval", str(tmp_path / "missing"))
    assert proc.returncode == 2 and "no such batch folder" in proc.stderr


def _results(out: Path) -> None:
    store = ResultStore(out)
    for task, horizon, outcomes in (("a", "1", [True, True]), ("b", "4", [True, False]), ("c", "8", [False, False])):
        for attempt, ok in enumerate(outcomes, 1):
            store.append({"kind": "batch_result", "task_id": task, "attempt": attempt, "success": ok,
                          "status": "done" if ok else "not_done", "reason": "tests_pass" if ok else "budget:steps",
                          "horizon": horizon, "steps": int(horizon) + 2, "tokens": {"total": 50}, "cost": 0.002,
                          "wall_time": 1.5})


def test_eval_prints_json_and_writes_the_chart(tmp_path):
    out = tmp_path / "out"
    _results(out)
    proc = cli("eval", str(out), "--json", "--chart", str(tmp_path / "chart.png"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["kind"] == "eval_report" and report["tasks"] == 3 and report["k"] == 2
    assert report["pass_at_1"] == 0.5 and report["pass_at_k"]["2"] == round(2 / 3, 4)
    assert report["pass_hat_k"]["2"] == round(1 / 3, 4)
    assert [r["bucket"] for r in report["by_horizon"]] == ["1", "4", "8"]
    assert (tmp_path / "chart.png").read_bytes()[:4] == b"\x89PNG"
    human = cli("eval", str(out))
    assert human.returncode == 0
    assert "pass@1" in human.stdout and "success by horizon (label)" in human.stdout
    assert "budget:steps" in human.stdout

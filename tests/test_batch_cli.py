"""`codeagent batch` and `codeagent eval` as a user runs them: real subprocesses,
exit codes, JSONL on stdout, people's output on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


def hi_project_rows(tmp_path, numbers) -> list[str]:
    """A one-file project in tmp_path/proj and a task line for each number."""
    repo = tmp_path / "proj"
    repo.mkdir()
    (repo / "main.py").write_text("print('hi')\n")
    return [json.dumps({"id": f"t{i}", "repo": "proj", "instruction": "say hi", "test_cmd": "true"}) for i in numbers]


@pytest.mark.slow
def test_batch_json_against_a_local_model_server_with_a_bad_line_then_resume(tmp_path):
    from openai_server import OpenAIServer, finish_responder

    tasks = tmp_path / "tasks.jsonl"
    rows = hi_project_rows(tmp_path, [1, 2])
    tasks.write_text(rows[0] + "\n{broken\n" + rows[1] + "\n")
    out = tmp_path / "out"
    with OpenAIServer(responder=finish_responder) as server:
        args = ("batch", str(tasks), "--out", str(out), "--json", "--model", "test-model",
                "--base-url", server.base_url, "--workers", "2")
        proc = cli(*args)
        assert proc.returncode == 2, proc.stderr  # the bad line, though both tasks ran
        lines = [json.loads(line) for line in proc.stdout.splitlines()]
        assert lines[0] == {"kind": "task_line_error", "file": str(tasks), "line": 2,
                            "message": lines[0]["message"]}
        results = [x for x in lines if x["kind"] == "batch_result"]
        assert sorted(r["task_id"] for r in results) == ["t1", "t2"]
        assert all(r["status"] == "done" and r["success"] for r in results), results
        assert lines[-1]["kind"] == "batch_summary" and lines[-1]["ran"] == 2 and lines[-1]["exit_code"] == 2
        assert "2 attempt(s) to run" in proc.stderr
        tasks.write_text(rows[0] + "\n" + rows[1] + "\n")
        again = cli(*args)
        assert again.returncode == 0, again.stderr
        summary = json.loads(again.stdout.splitlines()[-1])
        assert (summary["ran"], summary["skipped"]) == (0, 2)
        calls = len(server.chat_requests)
        redo = cli(*args, "--redo")
        assert redo.returncode == 0 and json.loads(redo.stdout.splitlines()[-1])["ran"] == 2
        assert len(server.chat_requests) > calls
    assert len((out / "results.jsonl").read_text().splitlines()) == 4


@pytest.mark.slow
def test_interrupt_keeps_finished_attempts_and_the_next_run_resumes(tmp_path):
    import signal

    from openai_server import OpenAIServer, finish_responder

    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(row + "\n" for row in hi_project_rows(tmp_path, range(4))))
    out = tmp_path / "out"
    with OpenAIServer(responder=finish_responder, delay=1.0) as server:
        args = ["batch", str(tasks), "--out", str(out), "--json", "--model", "m", "--base-url", server.base_url,
                "--workers", "1"]
        proc = subprocess.Popen([sys.executable, "-m", "codeagent.cli.main", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        first = proc.stdout.readline()  # the first finished attempt
        assert json.loads(first)["kind"] == "batch_result"
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert json.loads(rest.splitlines()[-1])["interrupted"] is True
        done = len((out / "results.jsonl").read_text().splitlines())
        assert 1 <= done < 4
        assert not any((out / "attempts").glob("*/*/workspace"))  # the killed attempt's clone is gone
        again = cli(*args)
        assert again.returncode == 0, again.stderr
        summary = json.loads(again.stdout.splitlines()[-1])
        assert summary["skipped"] == done and summary["ran"] == 4 - done

"""End to end: the real loop, real git repos, real test runs in the real sandbox,
driven by a ScriptedModel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from codeagent.config import load_settings
from codeagent.errors import NotAGitRepoError
from codeagent.events import EventBus
from codeagent.models.base import Message, ModelReply
from codeagent.models.scripted import ScriptedModel, tool
from codeagent.runner import RunRequest, run_task
from repo_helpers import git

SANDBOX = "bwrap" if shutil.which("bwrap") else "none"

CALC = "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
TESTS = ("from calc import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\n"
         "def test_mul():\n    assert mul(2, 3) == 6\n")
PROJECT = {"calc.py": CALC, "test_calc.py": TESTS, "pytest.ini": "[pytest]\n"}
PLAN = tool("update_plan", steps=[{"what": "fix add", "files": ["calc.py"], "done_when": "test_add passes"}])


def run(repo: Path, steps, *, apply="worktree", events=None, **flags) -> tuple:
    settings = load_settings(repo, {"sandbox": SANDBOX, "repo_map_tokens": 256, **flags}).settings
    bus = EventBus()
    seen = [] if events is None else events
    bus.subscribe(seen.append)
    model = ScriptedModel(steps)
    result = run_task(RunRequest(repo=repo, instruction="fix the failing test in calc", settings=settings,
                                 model=model, apply=apply, bus=bus, session_root=repo.parent / "sessions"))
    return result, model, seen


def tool_outputs(model: ScriptedModel, call_index: int) -> list[str]:
    return [m.content for m in model.calls[call_index]["messages"] if m.role in ("tool", "user")]


def test_success_applies_diff_to_user_tree(make_repo):
    repo = make_repo(PROJECT)
    result, model, events = run(repo, [
        PLAN,
        tool("edit_file", path="calc.py", old="return a - b", new="return a + b"),
        tool("run_tests"),
        tool("finish", summary="fixed add"),
    ])
    model.assert_complete()
    assert (result.status, result.exit_code, result.reason) == ("done", 0, "tests_pass")
    assert result.applied
    assert "return a + b" in (repo / "calc.py").read_text()
    assert git(repo, "status", "--porcelain").strip() == "M calc.py"  # applied uncommitted, index untouched
    assert git(repo, "diff", "--cached").strip() == ""
    kinds = [e.kind for e in events]
    for kind in ("session_start", "plan", "tool_call", "tool_result", "test_report", "usage", "final"):
        assert kind in kinds
    assert result.tests_before["failed"] == 1 and result.tests_after["failed"] == 0
    final = [e for e in events if e.kind == "test_report" and e.data["phase"] == "final"]
    assert final[-1].data["reused"]  # run_tests just saw this tree: finish does not run the suite again
    log = (result.session_dir / "events.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["kind"] == "final"


def test_fail_then_repair(make_repo):
    repo = make_repo(PROJECT)
    result, model, _ = run(repo, [
        PLAN,
        tool("edit_file", path="calc.py", old="return a - b", new="return a * b"),
        tool("run_tests"),
        tool("finish", summary="premature"),
        tool("edit_file", path="calc.py", old="return a * b\n\n\ndef mul", new="return a + b\n\n\ndef mul"),
        tool("run_tests"),
        tool("finish", summary="fixed"),
    ])
    model.assert_complete()
    assert result.status == "done"
    outputs = "\n".join(tool_outputs(model, 3))
    assert "test_add" in outputs and "NOT OK" in outputs
    refused = "\n".join(tool_outputs(model, 4))
    assert "finish refused" in refused
    assert "return a + b" in (repo / "calc.py").read_text()


def test_budget_exhausted_saves_patch_without_applying(make_repo):
    repo = make_repo(PROJECT)
    result, _, _ = run(repo, [
        PLAN,
        tool("edit_file", path="calc.py", old="return a - b", new="return a * b"),
        tool("run_tests"),
    ], max_steps=3)
    assert (result.status, result.exit_code, result.reason) == ("not_done", 1, "budget:steps")
    assert not result.applied
    assert result.patch_path and "return a * b" in result.patch_path.read_text()
    assert (repo / "calc.py").read_text() == CALC


def test_malformed_and_unknown_tool_calls_become_observations(make_repo):
    repo = make_repo(PROJECT)
    result, model, _ = run(repo, [
        PLAN,
        {"tool": "edit_file", "args": '{"path": "calc.py", "old": '},
        tool("rm_rf", path="/"),
        "I think I am done.",
        tool("edit_file", path="calc.py", old="return a - b", new="return a + b"),
        tool("finish", summary="ok"),
    ])
    model.assert_complete()
    assert result.status == "done"
    assert "not valid JSON" in tool_outputs(model, 2)[-1]
    assert "unknown tool 'rm_rf'" in tool_outputs(model, 3)[-1]
    assert "no tool call" in tool_outputs(model, 4)[-1]


def test_repeated_failures_warn_then_replan_then_stop(make_repo):
    repo = make_repo(PROJECT)
    bad = tool("edit_file", path="calc.py", old="no such text", new="x")
    result, model, events = run(repo, [PLAN] + [bad] * 6 + [PLAN] + [bad] * 3)
    assert result.reason == "stuck"
    assert any(e.kind == "replan" for e in events)
    assert result.exit_code == 1
    assert (repo / "calc.py").read_text() == CALC


def test_conflicting_user_edit_is_not_applied(make_repo):
    repo = make_repo(PROJECT)

    def user_edits_meanwhile(messages):
        (repo / "calc.py").write_text(CALC.replace("return a - b", "return b + a  # mine"))
        return tool("finish", summary="fixed")

    result, _, _ = run(repo, [PLAN, tool("edit_file", path="calc.py", old="return a - b", new="return a + b"),
                              user_edits_meanwhile])
    assert result.status == "done" and not result.applied
    assert result.reason == "apply_conflict" and result.exit_code == 1
    assert "# mine" in (repo / "calc.py").read_text()
    assert "return a + b" in result.patch_path.read_text()


def test_dirty_tree_and_untracked_files_are_carried_in(make_repo):
    repo = make_repo(PROJECT)
    (repo / "calc.py").write_text(CALC + "\n\ndef sub(a, b):\n    return a - b\n")
    (repo / "notes.txt").write_text("untracked note\n")

    def check_workspace(messages):
        seen = messages[-1].content
        assert "def sub" in seen
        return tool("read_file", path="notes.txt")

    result, model, _ = run(repo, [
        PLAN, tool("read_file", path="calc.py"), check_workspace,
        tool("edit_file", path="calc.py", old="    return a - b\n\n\ndef mul", new="    return a + b\n\n\ndef mul"),
        tool("finish", summary="fixed"),
    ])
    assert "untracked note" in tool_outputs(model, 3)[-1]
    assert result.status == "done" and result.applied
    text = (repo / "calc.py").read_text()
    assert "return a + b" in text and "def sub" in text
    assert (repo / "notes.txt").read_text() == "untracked note\n"


def test_not_a_git_repo_is_refused(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    with pytest.raises(NotAGitRepoError, match="not inside a git repository"):
        run(tmp_path, [PLAN])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py"]


def test_interrupt_keeps_user_tree_and_flushes_log(make_repo):
    repo = make_repo(PROJECT)
    before = (repo / "calc.py").read_bytes()

    def interrupt(messages):
        raise KeyboardInterrupt

    result, _, _ = run(repo, [PLAN, tool("edit_file", path="calc.py", old="return a - b", new="return 0"),
                              interrupt])
    assert (result.status, result.exit_code) == ("interrupted", 130)
    assert (repo / "calc.py").read_bytes() == before
    events = [json.loads(line)["kind"] for line in (result.session_dir / "events.jsonl").read_text().splitlines()]
    assert events[-1] == "final" and "tool_result" in events


def test_cli_without_model_exits_3_with_hint(make_repo):
    repo = make_repo(PROJECT)
    proc = subprocess.run([sys.executable, "-m", "codeagent.cli.main", "run", "fix it"], cwd=repo,
                          capture_output=True, text=True)
    assert proc.returncode == 3
    assert "--model" in proc.stderr
    assert (repo / "calc.py").read_text() == CALC


def test_demo_runs_the_whole_loop_offline():
    proc = subprocess.run([sys.executable, "-m", "codeagent.cli.main", "demo", "--json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    result = events[-1]
    assert result["status"] == "done" and result["reason"] == "tests_pass"
    reports = [e for e in events if e["kind"] == "test_report"]
    assert reports[0]["failed"] == 2 and any(e["failed"] > 0 for e in reports[1:-1])
    assert reports[-1]["failed"] == 0
    assert "scripted" in proc.stderr.lower()


def test_regressions_roll_back_to_last_checkpoint(make_repo):
    repo = make_repo(PROJECT)
    seen = {}

    def look(messages):
        seen["notes"] = messages[-1].content
        return tool("read_file", path="calc.py")

    result, model, events = run(repo, [
        PLAN,
        tool("edit_file", path="calc.py", old="return a - b", new="return a + b"),
        tool("run_tests"),  # holds: checkpoint
        tool("edit_file", path="calc.py", old="return a * b", new="return a ** b"),
        tool("run_tests"), tool("run_tests"), tool("run_tests"),  # test_mul regressed three times
        look,
        tool("finish", summary="fixed add"),
    ])
    model.assert_complete()
    kinds = [e.kind for e in events]
    assert "checkpoint" in kinds and "rollback" in kinds
    assert "rolled back to the last checkpoint" in seen["notes"]
    after_rollback = tool_outputs(model, 8)[-1]
    assert "return a + b" in after_rollback and "a ** b" not in after_rollback
    assert result.status == "done"
    assert (repo / "calc.py").read_text() == CALC.replace("a - b", "a + b")


def test_cli_with_unreachable_endpoint_exits_3_before_touching_anything(make_repo):
    repo = make_repo(PROJECT)
    proc = subprocess.run([sys.executable, "-m", "codeagent.cli.main", "run", "fix it", "--model", "m",
                           "--base-url", "http://127.0.0.1:9/v1", "--yes"], cwd=repo, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "127.0.0.1:9" in proc.stderr
    assert git(repo, "worktree", "list").count("\n") == 1


def test_text_protocol_for_models_without_tool_calls(make_repo):
    repo = make_repo(PROJECT)
    reply = ("The bug is in add.\n\ncalc.py\n<<<<<<< SEARCH\n    return a - b\n=======\n    return a + b\n"
             ">>>>>>> REPLACE\n\n```bash\npython -c \"import calc; print(calc.add(2, 3))\"\n```\n")
    result, model, _ = run(repo, [PLAN, reply, "All good.\nFINISH: add fixed"])
    model.assert_complete()
    observation = tool_outputs(model, 2)[-1]
    assert "5" in observation.splitlines()[-3:] or "\n5\n" in observation
    assert result.status == "done" and "return a + b" in (repo / "calc.py").read_text()


WAITS_FOR_PLANNER = """import os
import time


def test_runs_while_the_planner_thinks():
    for _ in range(300):
        if os.path.exists("planner-was-called"):
            return
        time.sleep(0.05)
    raise AssertionError("the planner was not called while the baseline ran")
"""


def test_baseline_tests_run_while_the_planner_is_asked(make_repo):
    import re

    repo = make_repo({"test_wait.py": WAITS_FOR_PLANNER, "pytest.ini": "[pytest]\n"})

    def plan(messages):  # the planner's request: mark that it has been sent
        workspace = re.search(r"Workspace root: (.+)", messages[0].content).group(1)
        Path(workspace, "planner-was-called").write_text("yes\n")
        return PLAN

    result, model, events = run(repo, [plan, tool("finish", summary="nothing to do")], apply="none")
    model.assert_complete()
    assert result.tests_before == {**result.tests_before, "passed": 1, "failed": 0}
    kinds = [e.kind for e in events]
    assert kinds.index("test_report") < kinds.index("plan")  # reported in the usual order
    task = model.calls[1]["messages"][1].content
    assert task.startswith("# Task") and "# Plan" in task


@pytest.mark.skipif(SANDBOX != "bwrap", reason="project environments are a bwrap mount")
def test_env_checkout_lends_its_virtualenv_to_the_run(make_repo):
    lender = make_repo({".gitignore": ".venv/\n", "README.md": "has the venv\n"}, name="lender")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(lender / ".venv")], check=True)
    next((lender / ".venv" / "lib").glob("python3*/site-packages")).joinpath("localdep.py").write_text("X = 1\n")
    repo = make_repo({"test_dep.py": "import localdep\n"}, name="borrower")
    settings = load_settings(repo, {"sandbox": SANDBOX, "test_cmd": "python test_dep.py"}).settings
    model = ScriptedModel([PLAN, tool("finish", summary="nothing to change")])
    result = run_task(RunRequest(repo=repo, instruction="check", settings=settings, model=model, apply="none",
                                 session_root=repo.parent / "sessions", env_checkout=lender))
    assert result.tests_before["ok"] and result.tests_before["exit_code"] == 0, result.tests_before

"""The real run machinery under the batch: the bundled smoke suite's ScriptedModel
scripts drive `run_task` on copies of the bundled repos, with real git, real
bubblewrap and real pytest; the outcomes are the ones the suite expects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from codeagent.batch.eval import build_report
from codeagent.batch.jobs import run_batch
from codeagent.batch.local import LocalEngine
from codeagent.batch.suites import load_script, suite_tasks_path
from codeagent.batch.suites.smoke.bugs import render_repo
from codeagent.batch.tasks import load_tasks
from codeagent.batch.worker import TaskRunner
from codeagent.errors import ConfigError

SMOKE = suite_tasks_path("smoke")


def test_bundled_repos_match_their_generator():
    for n in (1, 2, 4, 8):
        for name, text in render_repo(n).items():
            assert (SMOKE.parent / "repos" / f"calc{n}" / name).read_text() == text


def test_unknown_scripts_are_config_errors():
    with pytest.raises(ConfigError, match="has no script 'nope'"):
        load_script("smoke/nope", 1)
    with pytest.raises(ConfigError, match="unknown script"):
        load_script("../etc/passwd", 1)
    assert len(load_script("smoke/fix4", 1)) == 6


@pytest.mark.slow
def test_smoke_tasks_run_for_real_and_meet_their_expectations(tmp_path):
    wanted = {"h1-fix": 1, "h1-wrong": 1, "h2-flaky": 2}  # attempts
    tasks = [t.model_copy(update={"attempts": wanted[t.id]})
             for t in load_tasks(SMOKE, allow_scripted=True).tasks if t.id in wanted]
    out = tmp_path / "out"
    outcome = run_batch(tasks, out, LocalEngine(workers=2), TaskRunner())
    by_key = {(r["task_id"], r["attempt"]): r for r in outcome.records}
    assert len(by_key) == 4
    report = build_report(outcome.records)
    assert report["unexpected"] == [], [(r["task_id"], r["attempt"], r["status"], r["reason"], r["error"])
                                        for r in outcome.records]
    fixed = by_key[("h1-fix", 1)]
    assert fixed["success"] and fixed["reason"] == "tests_pass" and fixed["steps"] == 3
    assert "+    return a + b" in fixed["diff"]
    assert fixed["tests_before"]["failed"] >= 1 and fixed["tests_after"]["failed"] == 0
    assert fixed["tokens"]["total"] > 0 and Path(fixed["session_dir"]).is_dir()
    assert not (out / "attempts/h1-fix/1/workspace").exists()
    wrong = by_key[("h1-wrong", 1)]
    assert wrong["status"] == "not_done" and wrong["reason"] == "budget:steps" and wrong["steps"] == 3
    assert [by_key[("h2-flaky", a)]["success"] for a in (1, 2)] == [True, False]
    assert report["k"] == 1 and report["pass_at_1"] == 0.5  # (1 + 0 + 1/2) / 3
    flaky = next(row for row in report["per_task"] if row["task_id"] == "h2-flaky")
    assert flaky["statuses"] == ["done", "not_done"]
    # the bundled repo itself is never touched
    assert "return a - b" in (SMOKE.parent / "repos/calc1/calc.py").read_text()

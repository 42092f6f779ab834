"""Best-of-n: independent attempts, the best one applied, the choice explained."""

from __future__ import annotations

import shutil

from codeagent.best_of import run_best_of
from codeagent.config import load_settings
from codeagent.events import EventBus
from codeagent.models.scripted import ScriptedModel, tool
from codeagent.runner import RunRequest
from repo_helpers import git

CALC = "def add(a, b):\n    return a - b\n"
TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
PLAN = tool("update_plan", steps=[{"what": "fix add"}])
SANDBOX = "bwrap" if shutil.which("bwrap") else "none"


def test_best_attempt_is_applied_and_explained(make_repo):
    repo = make_repo({"calc.py": CALC, "test_calc.py": TESTS, "pytest.ini": "[pytest]\n"})
    scripts = {
        0: [PLAN, tool("edit_file", path="calc.py", old="a - b", new="a * b"), tool("run_tests"),
            tool("run_tests")],  # runs out of steps with the test still failing
        1: [PLAN, tool("edit_file", path="calc.py", old="return a - b", new="# sum of a and b\n    return a + b"),
            tool("finish", summary="verbose fix")],
        2: [PLAN, tool("edit_file", path="calc.py", old="a - b", new="a + b"), tool("finish", summary="tight fix")],
    }
    settings = load_settings(repo, {"sandbox": SANDBOX, "max_steps": 4, "repo_map_tokens": 0}).settings
    bus = EventBus()
    seen = []
    bus.subscribe(seen.append)
    request = RunRequest(repo=repo, instruction="fix add", settings=settings, bus=bus,
                         session_root=repo.parent / "sessions")
    result = run_best_of(request, 3, lambda i: ScriptedModel(scripts[i]), parallel=2)
    assert result.status == "done" and result.applied and result.exit_code == 0, result.attempts
    assert [a["chosen"] for a in result.attempts] == [False, False, True]
    assert "a smaller diff" in result.summary
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert git(repo, "worktree", "list").count("\n") == 1  # every attempt's worktree is gone
    assert {e.data.get("attempt") for e in seen if e.kind == "tool_call"} == {0, 1, 2}

"""The outcome contract: `done` only when no test the task concerns still fails.
Driven through the real loop, real git repos and the real sandbox."""

from __future__ import annotations

import shutil

from codeagent.agent.concern import Concern, changed_definitions
from codeagent.config import load_settings
from codeagent.events import EventBus
from codeagent.models.scripted import ScriptedModel, tool
from codeagent.runner import RunRequest, run_task
from repo_helpers import git

SANDBOX = "bwrap" if shutil.which("bwrap") else "none"

WINDOW = ("def sliding_window(seq, n):\n    raise NotImplementedError\n\n\n"
          "def chunked(seq, n):\n    return [seq[i:i + n] for i in range(0, len(seq), n)]\n\n\n"
          "def legacy():\n    return 1\n")
WINDOW_TESTS = ("from tools import chunked, legacy, sliding_window\n\n\n"
                "def test_sliding_window():\n    assert list(sliding_window([1, 2, 3], 2)) == [(1, 2), (2, 3)]\n\n\n"
                "def test_chunked():\n    assert chunked([1, 2, 3], 2) == [[1, 2], [3]]\n\n\n"
                "def test_legacy():\n    assert legacy() == 2\n")
PROJECT = {"tools.py": WINDOW, "test_tools.py": WINDOW_TESTS, "pytest.ini": "[pytest]\n"}
GOOD = ("def sliding_window(seq, n):\n"
        "    return [tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)]\n")
PLAN = tool("update_plan", steps=[{"what": "implement sliding_window", "files": ["tools.py"]}])


def run(repo, steps, instruction, events=None):
    settings = load_settings(repo, {"sandbox": SANDBOX, "repo_map_tokens": 0, "max_steps": len(steps)}).settings
    bus = EventBus()
    if events is not None:
        bus.subscribe(events.append)
    model = ScriptedModel(steps)
    result = run_task(RunRequest(repo=repo, instruction=instruction, settings=settings, model=model, bus=bus,
                                 session_root=repo.parent / "sessions"))
    return result, model


def test_finishing_twice_cannot_turn_a_named_failing_test_green(make_repo):
    repo = make_repo(PROJECT)
    before = (repo / "tools.py").read_text()
    result, model = run(repo, [PLAN, tool("finish", summary="done"), tool("finish", summary="really done"),
                               tool("finish", summary="done!")], "implement sliding_window in tools.py")
    assert result.status == "not_done" and result.exit_code == 1
    assert "test_tools.py::test_sliding_window" in result.failing
    assert not result.applied and (repo / "tools.py").read_text() == before
    refusal = [m.content for m in model.calls[3]["messages"] if m.role == "tool"][-1]
    assert "finish refused" in refusal and "its name matches `sliding_window`" in refusal


def test_partial_fix_with_a_concerned_test_failing_is_not_done(make_repo):
    repo = make_repo(PROJECT)
    wrong = "def sliding_window(seq, n):\n    return [tuple(seq[:n])]\n"  # fixes nothing, breaks nothing
    result, _ = run(repo, [PLAN, tool("edit_file", path="tools.py", old="def sliding_window(seq, n):\n"
                                      "    raise NotImplementedError\n", new=wrong),
                           tool("finish", summary="implemented"), tool("finish", summary="implemented")],
                    "implement sliding_window")
    assert (result.status, result.reason) == ("not_done", "budget:steps")
    assert result.failing == ["test_tools.py::test_sliding_window"]
    assert not result.applied


def test_done_lists_unrelated_failures_and_says_so_in_the_reason(make_repo):
    repo = make_repo(PROJECT)
    events = []
    result, _ = run(repo, [PLAN, tool("edit_file", path="tools.py", old="def sliding_window(seq, n):\n"
                                      "    raise NotImplementedError\n", new=GOOD),
                           tool("finish", summary="implemented")], "implement sliding_window", events)
    assert (result.status, result.exit_code, result.reason) == ("done", 0, "task_tests_pass")
    assert result.unrelated_failing == ["test_tools.py::test_legacy"] and result.failing == []
    final = [e for e in events if e.kind == "final"][-1].data
    assert final["unrelated_failing"] == ["test_tools.py::test_legacy"] and final["reason"] == "task_tests_pass"
    assert result.applied


def test_empty_diff_is_held_back_then_never_done_while_the_fix_task_fails(make_repo):
    repo = make_repo(PROJECT)
    result, model = run(repo, [PLAN, tool("finish", summary="nothing to do"), tool("finish", summary="sure")],
                        "make the failing tests pass")
    assert result.status == "not_done" and result.diff == ""
    assert set(result.failing) == {"test_tools.py::test_sliding_window", "test_tools.py::test_legacy"}


def test_no_change_needed_is_done_only_after_the_model_confirms(make_repo):
    repo = make_repo({"tools.py": GOOD, "test_tools.py": "from tools import sliding_window\n\n\n"
                      "def test_sliding_window():\n    assert sliding_window([1, 2], 2) == [(1, 2)]\n"})
    result, model = run(repo, [PLAN, tool("finish", summary="already works"), tool("finish", summary="it does")],
                        "check that sliding_window works")
    assert (result.status, result.reason, result.exit_code) == ("done", "no_changes", 0)
    held = [m.content for m in model.calls[2]["messages"] if m.role == "tool"][-1]
    assert "finish held back" in held


def test_concern_rules():
    c = Concern.of("implement `sliding_window` and fix SlidingWindow.step; see more_itertools/more.py", ".")
    assert c.why("tests/test_more.py::test_sliding_window_empty") == "its name matches `sliding_window`"
    assert c.why("tests/test_more.py::SlidingWindowTests::test_basic") == "its name matches `sliding_window`"
    assert c.why("tests/test_more.py::test_windowed") is None  # a different function
    assert c.why("more_itertools/tests/test_recipes.py::test_other") is None  # the path's package is no identifier
    assert Concern.of("fix test_windowed please", ".").why("tests/test_more.py::test_windowed") == "named in the task"
    assert Concern.of("make the tests pass", ".").why("t.py::test_x").startswith("the task asks")


def test_plain_words_count_only_when_the_project_defines_them(tmp_path):
    (tmp_path / "m.py").write_text("def f(x):\n    return x\n\n\nclass Export:\n    pass\n")
    c = Concern.of("fix f and the export", tmp_path)
    assert c.why("test_m.py::test_f") == "its name matches `f`"
    assert c.why("test_m.py::test_export_csv") == "its name matches `Export`"
    assert c.why("test_m.py::test_the_other") is None  # `the` is no definition


def test_tests_that_use_changed_code_are_concerned(tmp_path):
    (tmp_path / "lib.py").write_text("def helper():\n    return 2\n\n\ndef other():\n    return 3\n")
    (tmp_path / "test_lib.py").write_text("from lib import helper, other\n\n\n"
                                          "def test_a():\n    assert helper() == 1\n\n\n"
                                          "def test_b():\n    assert other() == 1\n")
    diff = "--- a/lib.py\n+++ b/lib.py\n@@ -1,2 +1,2 @@\n def helper():\n-    return 1\n+    return 2\n"
    assert changed_definitions(tmp_path, diff) == {"helper"}
    c = Concern.of("tidy up", tmp_path)
    c.note_diff(diff)
    assert c.why("test_lib.py::test_a") == "it uses `helper`, which the change touched"
    assert c.why("test_lib.py::test_b") is None


SKIPPER = {"tools.py": "def ready():\n    raise NotImplementedError\n",
           "test_tools.py": "import pytest\n\nfrom tools import ready\n\n\ndef test_ready():\n"
                            "    if ready():\n        pytest.skip('nothing to check once ready')\n",
           "pytest.ini": "[pytest]\n"}


def test_a_concerned_test_that_skips_itself_once_fixed_counts_as_passing(make_repo):
    repo = make_repo(SKIPPER)
    result, _ = run(repo, [PLAN, tool("edit_file", path="tools.py", old="raise NotImplementedError", new="return True"),
                           tool("finish", summary="ready")], "implement ready")
    assert (result.status, result.reason) == ("done", "tests_pass"), result.failing


def test_a_skip_the_change_added_does_not_count(make_repo):
    repo = make_repo(SKIPPER)
    result, _ = run(repo, [PLAN, tool("edit_file", path="test_tools.py", old="def test_ready():",
                                      new="@pytest.mark.skip\ndef test_ready():"),
                           tool("finish", summary="ready"), tool("finish", summary="ready")], "implement ready")
    assert result.status == "not_done" and result.failing == ["test_tools.py::test_ready"]

"""`fix` mode with a ScriptedModel driving the real loop: a verified repair is staged,
unstaged work survives, and the commit then goes through."""

from __future__ import annotations

import pytest

from codeagent.config import load_settings
from codeagent.hooks.install import install
from codeagent.hooks.precommit import run_precommit
from codeagent.models.scripted import ScriptedModel, tool
from test_hooks_support import CALC, PROJECT, hook_env, run_git, run_hook, tree_state

pytestmark = pytest.mark.slow  # each runs the real loop and several real test runs

BROKEN = CALC.replace("a + b", "a - b")
PLAN = tool("update_plan", steps=[{"what": "repair add", "files": ["calc.py"], "done_when": "test_add passes"}])
REPAIR = [
    PLAN,
    tool("edit_file", path="calc.py", old="def add(a, b):\n    return a - b", new="def add(a, b):\n    return a + b"),
    tool("run_tests"),
    tool("finish", summary="add subtracted; it adds again"),
]


def settings_for(repo, **flags):
    return load_settings(repo, {"sandbox": "none", "repo_map_tokens": 256, **flags}).settings


def test_fix_stages_a_verified_repair_and_the_commit_goes_through(make_repo):
    repo = make_repo(PROJECT)
    install(repo)  # check mode: the commit below is checked again by the real hook
    (repo / "calc.py").write_text(BROKEN + "\n\ndef mul(a, b):\n    return a * b\n")
    run_git(repo, "add", "calc.py")
    # unstaged work in the same file, away from the fix, and an untracked file
    unstaged = BROKEN + "\n\ndef mul(a, b):\n    return a * b\n\n\ndef div(a, b):  # wip\n    return a / b\n"
    (repo / "calc.py").write_text(unstaged)
    (repo / "notes.txt").write_bytes(b"keep \xff me\n")
    model = ScriptedModel(REPAIR)
    outcome = run_precommit(repo, settings_for(repo), mode="fix", budget=600, model=model)
    model.assert_complete()
    assert (outcome.verdict, outcome.exit_code) == ("fixed", 0), outcome.notes
    assert "+    return a + b" in outcome.fix_diff
    assert outcome.stage.files == ["calc.py"] and outcome.stage.worktree_updated == ["calc.py"]
    staged = run_git(repo, "show", ":calc.py").stdout
    assert "return a + b" in staged and "def mul" in staged and "div" not in staged
    assert (repo / "calc.py").read_text() == unstaged.replace("def add(a, b):\n    return a - b",
                                                              "def add(a, b):\n    return a + b")
    assert (repo / "notes.txt").read_bytes() == b"keep \xff me\n"
    proc = run_git(repo, "commit", "-m", "mul", env=hook_env(CODEAGENT_SANDBOX="none"), check=False)
    assert proc.returncode == 0, proc.stderr
    assert "return a + b" in run_git(repo, "show", "HEAD:calc.py").stdout
    assert "div" in run_git(repo, "diff").stdout  # the wip hunk is still unstaged


def test_fix_over_an_overlapping_unstaged_edit_stages_only(make_repo):
    repo = make_repo(PROJECT)
    (repo / "calc.py").write_text(BROKEN)
    run_git(repo, "add", "calc.py")
    mine = BROKEN.replace("def add(a, b):\n    return a - b", "def add(a, b):  # my own unstaged note\n    return a - b")
    (repo / "calc.py").write_text(mine)
    outcome = run_precommit(repo, settings_for(repo), mode="fix", budget=600, model=ScriptedModel(REPAIR))
    assert outcome.verdict == "fixed" and outcome.stage.worktree_kept == ["calc.py"]
    assert (repo / "calc.py").read_text() == mine  # byte for byte
    assert "return a + b" in run_git(repo, "show", ":calc.py").stdout
    assert any("working tree keeps your version" in n for n in outcome.notes)


def test_a_fix_that_does_not_pass_the_checks_is_not_staged(make_repo):
    repo = make_repo(PROJECT)
    (repo / "calc.py").write_text(BROKEN)
    run_git(repo, "add", "calc.py")
    before = tree_state(repo)
    wrong = [PLAN, tool("edit_file", path="calc.py", old="def add(a, b):\n    return a - b",
                        new="def add(a, b):\n    return a * b"),
             tool("finish", summary="done"), tool("finish", summary="really done"),
             tool("finish", summary="done!")]
    outcome = run_precommit(repo, settings_for(repo, max_steps=6), mode="fix", budget=600, model=ScriptedModel(wrong))
    assert outcome.exit_code == 1 and outcome.verdict == "blocked"
    assert any("no verified repair" in n for n in outcome.notes)
    assert tree_state(repo) == before


def test_fix_without_a_model_falls_back_to_check_with_a_note(make_repo):
    repo = make_repo(PROJECT)
    (repo / "calc.py").write_text(BROKEN)
    run_git(repo, "add", "calc.py")
    proc = run_hook(repo, "--mode", "fix", env=hook_env(CODEAGENT_SANDBOX="none"))
    assert proc.returncode == 1
    notes = [line for line in proc.stderr.splitlines() if "no model available" in line]
    assert len(notes) == 1 and "fell back to the checks only" in notes[0]
    (repo / ".codeagent.toml").write_text("[precommit]\nblock_on_model_error = true\n")
    proc = run_hook(repo, "--mode", "fix", env=hook_env(CODEAGENT_SANDBOX="none"))
    assert proc.returncode == 1 and "blocking (block_on_model_error = true)" in proc.stderr
    # a change that passes needs no model: no note, no block
    (repo / "calc.py").write_text(CALC + "# fine\n")
    run_git(repo, "add", "calc.py")
    proc = run_hook(repo, "--mode", "fix", env=hook_env(CODEAGENT_SANDBOX="none"))
    assert proc.returncode == 0 and "model" not in proc.stderr


def test_git_commit_in_fix_mode_repairs_through_a_real_endpoint(make_repo):
    """The whole front door: `git commit` runs the installed hook, which opens the
    configured model (a real local OpenAI-compatible server), repairs, stages, and
    the commit records the repair."""
    from openai_server import OpenAIServer, Turn

    repo = make_repo(PROJECT)
    install(repo, "fix")
    (repo / ".codeagent.toml").write_text("[precommit]\nbudget = 600\n")
    (repo / "calc.py").write_text(BROKEN)
    run_git(repo, "add", "calc.py")
    with OpenAIServer() as server:
        server.push(
            Turn(tool_calls=[("update_plan", {"steps": [{"what": "repair add", "files": ["calc.py"],
                                                         "done_when": "tests pass"}]})]),
            Turn(tool_calls=[("edit_file", {"path": "calc.py", "old": "def add(a, b):\n    return a - b",
                                            "new": "def add(a, b):\n    return a + b"})]),
            Turn(tool_calls=[("finish", {"summary": "add adds again"})]),
        )
        env = hook_env(CODEAGENT_SANDBOX="none", CODEAGENT_MODEL="local", CODEAGENT_STREAM="false",
                       OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-local-test")
        proc = run_git(repo, "commit", "-m", "calc", env=env, check=False)
        assert server.pending == 0
    assert proc.returncode == 0, proc.stderr
    assert "fixed and staged" in proc.stderr and "+    return a + b" in proc.stderr
    assert "return a + b" in run_git(repo, "show", "HEAD:calc.py").stdout
    assert run_git(repo, "status", "--porcelain").stdout == "?? .codeagent.toml\n"

"""`check` mode on real git repos: exactly the staged snapshot is checked, the user's
unstaged hunks and untracked files are never touched, a broken commit is blocked."""

from __future__ import annotations

import json
import subprocess

import pytest

from codeagent.config import load_settings
from codeagent.hooks.install import install
from codeagent.hooks.precommit import cache_base, run_precommit
from test_hooks_support import CALC, PROJECT, hook_env, run_git, run_hook, tree_state

BROKEN = CALC.replace("a + b", "a - b")


def settings_for(repo, **precommit):
    settings = load_settings(repo).settings
    return settings.model_copy(update={"sandbox": "none", "precommit": settings.precommit.model_copy(update=precommit)})


def test_git_commit_of_a_change_that_breaks_a_test_is_blocked(make_repo):
    repo = make_repo(PROJECT)
    install(repo)
    head = run_git(repo, "rev-parse", "HEAD").stdout
    (repo / "calc.py").write_text(BROKEN)
    run_git(repo, "add", "calc.py")
    proc = run_git(repo, "commit", "-m", "break add", env=hook_env(CODEAGENT_SANDBOX="bwrap"), check=False)
    assert proc.returncode != 0
    assert "BLOCKED" in proc.stderr and "tests/test_calc.py::test_add" in proc.stderr
    assert "\x1b[" not in proc.stderr  # plain text when not on a terminal
    assert run_git(repo, "rev-parse", "HEAD").stdout == head
    assert (repo / "calc.py").read_text() == BROKEN
    assert run_git(repo, "diff", "--cached", "--name-only").stdout == "calc.py\n"
    assert run_git(repo, "commit", "-q", "--no-verify", "-m", "anyway", check=False).returncode == 0


def test_a_good_change_passes_and_the_commit_is_made(make_repo):
    repo = make_repo(PROJECT)
    install(repo)
    (repo / "calc.py").write_text(CALC + "\n\ndef mul(a, b):\n    return a * b\n")
    run_git(repo, "add", "calc.py")
    proc = run_git(repo, "commit", "-m", "mul", env=hook_env(CODEAGENT_SANDBOX="none"), check=False)
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stderr and "affected tests: 2 passed" in proc.stderr


def partially_staged(repo, staged_text, unstaged_text):
    (repo / "calc.py").write_text(staged_text)
    run_git(repo, "add", "calc.py")
    (repo / "calc.py").write_text(unstaged_text)
    (repo / "scratch notes.txt").write_bytes(b"untracked \x00\xff bytes\n")
    (repo / "tests" / "test_wip.py").write_text("def test_wip():\n    assert False\n")  # untracked, failing


def test_only_the_staged_snapshot_is_checked_and_unstaged_hunks_survive(make_repo):
    repo = make_repo(PROJECT)
    # staged: a good new function; unstaged on top of it, in the same file: a broken add
    good = CALC + "\n\ndef mul(a, b):\n    return a * b\n"
    partially_staged(repo, good, good.replace("a + b", "a - b") + "# wip\n")
    before = tree_state(repo)
    outcome = run_precommit(repo, settings_for(repo))
    assert outcome.exit_code == 0, outcome
    assert tree_state(repo) == before
    # the reverse: the staged hunk breaks a test, the unstaged one would repair it
    repo2 = make_repo(PROJECT, name="repo2")
    partially_staged(repo2, BROKEN + "# staged\n", CALC + "# staged\n# unstaged\n")
    before = tree_state(repo2)
    outcome = run_precommit(repo2, settings_for(repo2))
    assert outcome.exit_code == 1 and outcome.checks[-1].failed == ["tests/test_calc.py::test_add"]
    assert tree_state(repo2) == before
    assert not list(cache_base().glob("run-*"))  # the scratch area is gone


def test_commit_dash_a_checks_what_git_is_about_to_record(make_repo):
    repo = make_repo(PROJECT)
    install(repo)
    (repo / "calc.py").write_text(BROKEN)  # not staged: `commit -a` stages it into a temporary index
    proc = run_git(repo, "commit", "-a", "-m", "all", env=hook_env(CODEAGENT_SANDBOX="none"), check=False)
    assert proc.returncode != 0 and "test_add" in proc.stderr
    assert run_git(repo, "diff", "--cached", "--name-only").stdout == ""  # the real index is as it was
    assert (repo / "calc.py").read_text() == BROKEN


@pytest.mark.slow
def test_a_failure_that_already_exists_at_head_does_not_block(make_repo):
    files = dict(PROJECT)
    files["tests/test_old.py"] = "from calc import add\n\n\ndef test_known_bad():\n    assert add(1, 1) == 3\n"
    repo = make_repo(files)
    (repo / "calc.py").write_text(CALC + "\n\ndef mul(a, b):\n    return a * b\n")
    run_git(repo, "add", "calc.py")
    outcome = run_precommit(repo, settings_for(repo))
    tests = outcome.checks[-1]
    assert outcome.exit_code == 0 and tests.preexisting == ["tests/test_old.py::test_known_bad"]
    # ...but a new failure next to it still blocks
    (repo / "calc.py").write_text(BROKEN)
    run_git(repo, "add", "calc.py")
    outcome = run_precommit(repo, settings_for(repo))
    assert outcome.exit_code == 1
    assert outcome.checks[-1].failed == ["tests/test_calc.py::test_add"]


def test_linters_run_on_the_staged_files_and_block_on_failure(make_repo):
    repo = make_repo(PROJECT)
    (repo / "calc.py").write_text(CALC + "\nDEBUG = True\n")
    run_git(repo, "add", "calc.py")
    (repo / "calc.py").write_text(CALC)  # the unstaged version would pass the linter
    settings = settings_for(repo, linters=["! grep -n 'DEBUG = True' {files}", "true"])
    outcome = run_precommit(repo, settings)
    lint = outcome.checks[0]
    assert outcome.exit_code == 1 and lint.status == "failed" and "calc.py" in lint.command
    assert "DEBUG = True" in lint.details
    assert outcome.checks[1].status == "passed"


def test_fast_path_nothing_staged_and_docs_only(make_repo):
    repo = make_repo(PROJECT)
    proc = run_hook(repo)
    assert proc.returncode == 0 and proc.stderr == ""
    (repo / "README.md").write_text("# calc\n\nMore words.\n")
    (repo / "calc.py").write_text(BROKEN)  # unstaged: irrelevant
    run_git(repo, "add", "README.md")
    proc = run_hook(repo)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run(["codeagent", "precommit"], cwd=repo, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stderr == ""
    outcome = run_precommit(repo, settings_for(repo))
    assert outcome.verdict == "skipped" and outcome.checks == []
    # review mode reads docs too (a key pasted into a README is still a leak)
    outcome = run_precommit(repo, settings_for(repo), mode="review", model=None)
    assert outcome.verdict == "pass" and outcome.mode == "review" and outcome.checks == []


def test_the_first_commit_of_a_repo_is_checked(tmp_path):
    repo = tmp_path / "fresh"
    repo.mkdir()
    run_git(repo, "init", "-q")
    for rel, text in PROJECT.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text.replace("a + b", "a - b"))
    run_git(repo, "add", "-A")
    outcome = run_precommit(repo, settings_for(repo))
    assert outcome.exit_code == 1 and outcome.checks[-1].failed == ["tests/test_calc.py::test_add"]


def test_a_python_change_no_test_imports_skips_the_tests(make_repo):
    repo = make_repo(PROJECT)
    (repo / "tools.py").write_text("def unused():\n    return 1\n")
    run_git(repo, "add", "tools.py")
    outcome = run_precommit(repo, settings_for(repo))
    assert outcome.exit_code == 0 and outcome.checks[0].status == "skipped"


def test_deleting_an_imported_module_runs_the_suite_and_blocks(make_repo):
    repo = make_repo(PROJECT)
    run_git(repo, "rm", "-q", "--cached", "calc.py")  # staged deletion; the file stays on disk
    outcome = run_precommit(repo, settings_for(repo))
    assert outcome.exit_code == 1 and "collection" in outcome.checks[0].summary
    assert (repo / "calc.py").read_text() == CALC


def test_the_budget_is_a_hard_limit(make_repo):
    files = dict(PROJECT)
    files["tests/test_slow.py"] = "import time\nfrom calc import add\n\n\ndef test_slow():\n    time.sleep(30)\n"
    repo = make_repo(files)
    (repo / "calc.py").write_text(CALC + "# touch\n")
    run_git(repo, "add", "calc.py")
    proc = run_hook(repo, "--budget", "3", "--json", env=hook_env(CODEAGENT_SANDBOX="none"))
    outcome = json.loads(proc.stdout)
    assert proc.returncode == 1 and outcome["checks"][-1]["status"] == "timed_out"
    assert outcome["duration"] < 10


def test_bad_mode_and_bad_severity_are_usage_errors(make_repo):
    repo = make_repo(PROJECT)
    (repo / "calc.py").write_text(CALC + "# touch\n")
    run_git(repo, "add", "calc.py")
    proc = run_hook(repo, "--mode", "yolo")
    assert proc.returncode == 2 and "unknown pre-commit mode" in proc.stderr
    proc = run_hook(repo, "--budget", "-1")
    assert proc.returncode == 2 and "positive number of seconds" in proc.stderr
    proc = run_hook(repo, "--budget", "soon")
    assert proc.returncode == 2
    (repo / ".codeagent.toml").write_text('[precommit]\nblock_severity = "urgent"\n')
    proc = run_hook(repo, "--mode", "review")
    assert proc.returncode == 2 and "block_severity" in proc.stderr


def test_unresolved_conflicts_get_a_clear_error(make_repo):
    repo = make_repo(PROJECT)
    run_git(repo, "checkout", "-q", "-b", "other")
    (repo / "calc.py").write_text(CALC + "# other\n")
    run_git(repo, "commit", "-qam", "other")
    run_git(repo, "checkout", "-q", "main")
    (repo / "calc.py").write_text(CALC + "# main\n")
    run_git(repo, "commit", "-qam", "main")
    assert run_git(repo, "merge", "-q", "other", check=False).returncode != 0
    before = tree_state(repo)
    proc = run_hook(repo)
    assert proc.returncode == 1 and "conflicts" in proc.stderr
    assert tree_state(repo) == before


def test_json_outcome_on_stdout(make_repo):
    repo = make_repo(PROJECT)
    (repo / ".codeagent.toml").write_text('test_cmd = "true"\n[precommit]\nlinters = ["false"]\n')
    (repo / "calc.py").write_text(BROKEN)
    run_git(repo, "add", "calc.py")
    proc = subprocess.run(["codeagent", "precommit", "--json"], cwd=repo, capture_output=True, text=True,
                          env=hook_env(CODEAGENT_SANDBOX="none"), timeout=120)
    outcome = json.loads(proc.stdout)
    assert proc.returncode == 1 and outcome["kind"] == "precommit_outcome" and outcome["verdict"] == "blocked"
    assert outcome["staged"] == ["calc.py"] and outcome["checks"][0]["name"] == "lint: false"


def test_stage_patch_lays_the_fix_over_unstaged_work_file_by_file(make_repo, tmp_path):
    from codeagent.errors import WorkspaceError
    from codeagent.hooks.snapshot import ScratchRepo, StagedSnapshot, stage_patch

    repo = make_repo({"a.py": "a = 1\nb = 2\n", "b.py": "x = 1\n\n\n\n\ny = 2\n"})
    (repo / "a.py").write_text("a = 10\nb = 2\n")
    (repo / "b.py").write_text("x = 10\n\n\n\n\ny = 2\n")
    run_git(repo, "add", "a.py", "b.py")
    (repo / "a.py").write_text("a = 10  # mine\nb = 2\n")  # overlaps the fix below
    (repo / "b.py").write_text("x = 10\n\n\n\n\ny = 2\nz = 3  # mine\n")  # does not
    snapshot = StagedSnapshot.capture(repo, ["a.py", "b.py"])
    scratch = ScratchRepo.create(tmp_path / "scratch", snapshot)
    (scratch.path / "a.py").write_text("a = 11\nb = 2\n")
    (scratch.path / "b.py").write_text("x = 11\n\n\n\n\ny = 2\n")
    patch = scratch.git("diff").stdout.decode()
    result = stage_patch(snapshot, patch, tmp_path / "rescue")
    assert (result.worktree_updated, result.worktree_kept) == (["b.py"], ["a.py"])
    assert run_git(repo, "show", ":a.py").stdout == "a = 11\nb = 2\n"
    assert run_git(repo, "show", ":b.py").stdout == "x = 11\n\n\n\n\ny = 2\n"
    assert (repo / "a.py").read_text() == "a = 10  # mine\nb = 2\n"
    assert (repo / "b.py").read_text() == "x = 11\n\n\n\n\ny = 2\nz = 3  # mine\n"
    assert not (tmp_path / "rescue").exists()
    before = tree_state(repo)  # the index has moved on from the snapshot now: refused
    with pytest.raises(WorkspaceError):
        stage_patch(snapshot, patch, tmp_path / "rescue")
    assert tree_state(repo) == before


def test_checks_use_the_checkouts_own_virtualenv(make_repo):
    import site
    import sys

    repo = make_repo({**PROJECT, ".gitignore": ".venv/\n",
                      "tests/test_dep.py": "import localdep\n\n\ndef test_dep():\n    assert localdep.VALUE == 42\n"})
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(repo / ".venv")], check=True)
    venv_site = next((repo / ".venv" / "lib").glob("python3*/site-packages"))
    (venv_site / "localdep.py").write_text("VALUE = 42\n")
    (venv_site / "outer.pth").write_text("\n".join(site.getsitepackages()) + "\n")  # pytest, from this Python
    (repo / "tests" / "test_dep.py").write_text((repo / "tests" / "test_dep.py").read_text() + "\n# staged\n")
    run_git(repo, "add", "tests/test_dep.py")
    settings = settings_for(repo).model_copy(update={"sandbox": "bwrap"})
    outcome = run_precommit(repo, settings)
    assert outcome.exit_code == 0, [(c.name, c.status, c.summary, c.detail) for c in outcome.checks]
    assert any(c.name == "tests" and c.status == "passed" for c in outcome.checks)

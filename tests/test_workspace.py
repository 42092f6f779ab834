"""Workspace on real git repos: carry-in, isolation, checkpoints, rollback, reopen, close."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from codeagent.errors import ConfigError, NotAGitRepoError, WorkspaceError
from codeagent.workspace import Workspace, cleanup_stale
from tests.conftest import git

BINARY = bytes(range(256)) * 4


def fingerprint(repo: Path) -> dict[str, object]:
    """Everything of the user's that the workspace must not touch, byte for byte."""
    files = {}
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        if path.is_file() and not path.is_symlink():
            files[rel] = (hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(path.stat().st_mode))
        elif path.is_symlink():
            files[rel] = ("link", os.readlink(path))
    gitdir = repo / ".git"
    return {
        "files": files,
        "index": (gitdir / "index").read_bytes() if (gitdir / "index").exists() else None,
        "status": git(repo, "status", "--porcelain=v2", "--untracked-files=all"),
        "head": (gitdir / "HEAD").read_text(),
        "branches": git(repo, "for-each-ref", "refs/heads", "refs/tags", "refs/stash"),
        "stash": git(repo, "stash", "list"),
    }


@pytest.fixture
def dirty_repo(make_repo):
    repo = make_repo({
        "app.py": "def f():\n    return 1\n",
        "staged.txt": "old\n",
        "gone.txt": "delete me\n",
        "run.sh": "#!/bin/sh\necho hi\n",
        "partial.txt": "a\nb\nc\n",
        ".gitignore": "build/\n*.log\n",
    })
    (repo / "staged.txt").write_text("new staged\n")
    git(repo, "add", "staged.txt")
    (repo / "app.py").write_text("def f():\n    return 2  # unstaged\n")
    (repo / "gone.txt").unlink()
    (repo / "new_untracked.txt").write_text("fresh\n")
    (repo / "blob.bin").write_bytes(BINARY)
    (repo / "run.sh").chmod(0o755)
    (repo / "build").mkdir()
    (repo / "build" / "out.o").write_text("ignored artifact\n")
    (repo / "debug.log").write_text("ignored\n")
    (repo / "partial.txt").write_text("a\nB staged\nc\n")
    git(repo, "add", "partial.txt")
    (repo / "partial.txt").write_text("a\nB staged\nc\nd unstaged\n")
    return repo


def test_dirty_tree_is_carried_in(dirty_repo):
    ws = Workspace.open(dirty_repo, run_id="r1")
    w = ws.path
    assert (w / "staged.txt").read_text() == "new staged\n"
    assert (w / "app.py").read_text() == "def f():\n    return 2  # unstaged\n"
    assert not (w / "gone.txt").exists()
    assert (w / "new_untracked.txt").read_text() == "fresh\n"
    assert (w / "blob.bin").read_bytes() == BINARY
    assert os.access(w / "run.sh", os.X_OK)
    assert (w / "partial.txt").read_text() == "a\nB staged\nc\nd unstaged\n"
    assert not (w / "build").exists() and not (w / "debug.log").exists()
    assert ws.diff() == ""  # the base holds the user's state: nothing changed yet
    assert git(dirty_repo, "rev-parse", "refs/codeagent/r1/base").strip() == ws.base_commit
    assert git(w, "rev-parse", "HEAD").strip() == ws.base_commit
    assert git(w, "status", "--porcelain") == ""
    ws.close()


def test_snapshot_index_takes_only_staged(dirty_repo):
    ws = Workspace.open(dirty_repo, run_id="idx", snapshot="index")
    w = ws.path
    assert (w / "partial.txt").read_text() == "a\nB staged\nc\n"
    assert (w / "staged.txt").read_text() == "new staged\n"
    assert (w / "app.py").read_text() == "def f():\n    return 1\n"
    assert (w / "gone.txt").exists()  # deleted but not staged
    assert not (w / "new_untracked.txt").exists()
    ws.close()


def test_user_tree_untouched_while_workspace_changes(dirty_repo):
    before = fingerprint(dirty_repo)
    ws = Workspace.open(dirty_repo, run_id="iso")
    (ws.path / "app.py").write_text("changed in workspace\n")
    (ws.path / "added.py").write_text("x = 1\n")
    (ws.path / "staged.txt").unlink()
    ws.checkpoint("step 1")
    ws.diff()
    ws.rollback()
    ws.close()
    assert fingerprint(dirty_repo) == before


def test_checkpoint_and_rollback_restore_exact_tree(make_repo):
    repo = make_repo({"a.txt": "one\n", "keep.sh": "echo\n", "dir/b.txt": "b\n", ".gitignore": "*.cache\n"})
    ws = Workspace.open(repo, run_id="cp")
    w = ws.path
    (w / "a.txt").write_text("two\n")
    (w / "keep.sh").chmod(0o755)
    first = ws.checkpoint("step 1")
    assert ws.checkpoints == [first]
    assert git(repo, "rev-parse", "refs/codeagent/cp/checkpoint").strip() == first
    tree_at_first = git(w, "rev-parse", f"{first}^{{tree}}").strip()

    (w / "a.txt").write_text("broken\n")
    (w / "dir" / "b.txt").unlink()
    (w / "stray.py").write_text("junk\n")
    (w / "newdir").mkdir()
    (w / "newdir" / "x.txt").write_text("x\n")
    (w / "keep.sh").chmod(0o644)
    (w / "art.cache").write_text("ignored artifact\n")
    assert ws.rollback() == first
    assert (w / "a.txt").read_text() == "two\n"
    assert (w / "dir" / "b.txt").read_text() == "b\n"
    assert not (w / "stray.py").exists() and not (w / "newdir").exists()
    assert os.access(w / "keep.sh", os.X_OK)
    assert (w / "art.cache").exists()  # ignored files are left alone
    assert git(w, "status", "--porcelain") == ""
    git(w, "add", "-A")
    assert git(w, "write-tree").strip() == tree_at_first
    ws.close()


def test_rollback_to_base_and_bad_sha(make_repo):
    repo = make_repo({"a.txt": "one\n"})
    ws = Workspace.open(repo, run_id="rb")
    (ws.path / "a.txt").write_text("two\n")
    c1 = ws.checkpoint("1")
    (ws.path / "a.txt").write_text("three\n")
    c2 = ws.checkpoint("2")
    assert ws.checkpoints == [c1, c2]
    assert ws.rollback(c1) == c1 and ws.checkpoints == [c1]
    assert (ws.path / "a.txt").read_text() == "two\n"
    assert ws.rollback(ws.base_commit) == ws.base_commit
    assert ws.checkpoints == [] and (ws.path / "a.txt").read_text() == "one\n"
    assert git(repo, "for-each-ref", "refs/codeagent/rb/checkpoint") == ""
    with pytest.raises(WorkspaceError, match="not a checkpoint"):
        ws.rollback(c2)
    with pytest.raises(WorkspaceError):
        ws.rollback("nonsense")
    ws.close()


def test_checkpoint_without_change_makes_no_commit(make_repo):
    ws = Workspace.open(make_repo({"a": "1\n"}), run_id="noop")
    assert ws.checkpoint("nothing") == ws.base_commit and ws.checkpoints == []
    (ws.path / "a").write_text("2\n")
    sha = ws.checkpoint("x")
    assert ws.checkpoint("again") == sha and ws.checkpoints == [sha]
    ws.close()


def test_diff_includes_untracked_binary_and_deletes(make_repo):
    repo = make_repo({"a.txt": "one\n", "old.txt": "old\n"})
    ws = Workspace.open(repo, run_id="d")
    (ws.path / "a.txt").write_text("two\n")
    (ws.path / "old.txt").unlink()
    (ws.path / "new.bin").write_bytes(BINARY)
    (ws.path / "pkg" / "__pycache__").mkdir(parents=True)
    (ws.path / "pkg" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"\0junk")
    diff = ws.diff()
    assert "GIT binary patch" in diff and "+two" in diff and "deleted file" in diff
    assert ws.changed_files() == ["a.txt", "new.bin", "old.txt"]
    assert "3 files changed" in ws.diff_stat()
    ws.close()


def test_not_a_git_repo(tmp_path):
    with pytest.raises(NotAGitRepoError) as info:
        Workspace.open(tmp_path, run_id="x")
    assert "git init" in str(info.value) and info.value.exit_code == 2
    with pytest.raises(ConfigError, match="no such directory"):
        Workspace.open(tmp_path / "missing", run_id="x")


def test_repo_without_commits(tmp_path):
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "hello.py").write_text("print('hi')\n")
    before = fingerprint(repo)
    ws = Workspace.open(repo, run_id="unborn")
    assert (ws.path / "hello.py").read_text() == "print('hi')\n"
    assert ws.start_head is None
    (ws.path / "hello.py").write_text("print('hello')\n")
    assert fingerprint(repo) == before
    result = ws.apply_back()
    assert result.applied and (repo / "hello.py").read_text() == "print('hello')\n"
    ws.close()


def test_bad_inputs(make_repo):
    repo = make_repo({"a": "1\n"})
    with pytest.raises(ConfigError, match="bad run id"):
        Workspace.open(repo, run_id="../evil")
    with pytest.raises(ConfigError, match="unknown snapshot"):
        Workspace.open(repo, run_id="s", snapshot="everything")
    ws = Workspace.open(repo, run_id="dup")
    with pytest.raises(WorkspaceError, match="already"):
        Workspace.open(repo, run_id="dup")
    ws.close()
    with pytest.raises(WorkspaceError, match="closed"):
        ws.checkpoint("late")


def test_close_removes_worktree_and_refs(make_repo):
    repo = make_repo({"a": "1\n"})
    ws = Workspace.open(repo, run_id="c")
    (ws.path / "a").write_text("2\n")
    ws.checkpoint("1")
    assert "codeagent run=c" in git(repo, "worktree", "list", "--porcelain")
    ws.close()
    assert not ws.path.exists()
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert git(repo, "for-each-ref", "refs/codeagent") == ""


def test_reopen_finds_worktree_and_checkpoints(make_repo):
    repo = make_repo({"a": "1\n"})
    ws = Workspace.open(repo, run_id="re")
    (ws.path / "a").write_text("2\n")
    c1 = ws.checkpoint("1")
    (ws.path / "b").write_text("uncommitted\n")
    ws.close(keep=True)
    again = Workspace.reopen(repo, "re")
    assert again.path == ws.path and again.base_commit == ws.base_commit
    assert again.checkpoints == [c1]
    assert (again.path / "b").read_text() == "uncommitted\n"
    assert again.changed_files() == ["a", "b"]
    again.close()
    with pytest.raises(WorkspaceError, match="no workspace"):
        Workspace.reopen(repo, "re")


def test_reopen_rebuilds_a_removed_worktree(make_repo, tmp_path):
    import shutil

    repo = make_repo({"a": "1\n"})
    ws = Workspace.open(repo, run_id="rebuild", base_dir=tmp_path / "wt")
    (ws.path / "a").write_text("2\n")
    c1 = ws.checkpoint("1")
    shutil.rmtree(ws.path)
    again = Workspace.reopen(repo, "rebuild", base_dir=tmp_path / "wt")
    assert again.checkpoints == [c1] and (again.path / "a").read_text() == "2\n"
    again.close()


def test_cleanup_stale_removes_dead_runs_only(make_repo):
    import subprocess
    import sys

    repo = make_repo({"a": "1\n"})
    alive = Workspace.open(repo, run_id="alive")
    kept = Workspace.open(repo, run_id="kept")
    dead = Workspace.open(repo, run_id="dead")
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(proc.stdout)
    for ws in (kept, dead):
        git(repo, "worktree", "unlock", str(ws.path))
        git(repo, "worktree", "lock", "--reason", f"codeagent run={ws.run_id} pid={dead_pid} host={os.uname().nodename}",
            str(ws.path))
    git(repo, "update-ref", "refs/codeagent/orphan/base", alive.base_commit)
    assert sorted(cleanup_stale(repo, keep=["kept"])) == ["dead", "orphan"]
    assert not dead.path.exists() and alive.path.exists() and kept.path.exists()
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/codeagent")
    assert "dead" not in refs and "orphan" not in refs and "alive" in refs and "kept" in refs
    alive.close()
    kept.close()


def test_inherited_git_env_is_ignored(dirty_repo, monkeypatch):
    """A pre-commit hook exports GIT_DIR and GIT_INDEX_FILE; the worktree must not use them."""
    before = fingerprint(dirty_repo)
    monkeypatch.setenv("GIT_DIR", str(dirty_repo / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(dirty_repo / ".git" / "index"))
    monkeypatch.setenv("GIT_WORK_TREE", str(dirty_repo))
    ws = Workspace.open(dirty_repo, run_id="hook", snapshot="index")
    (ws.path / "partial.txt").write_text("rewritten\n")
    ws.checkpoint("x")
    assert ws.changed_files() == ["partial.txt"]
    ws.close()
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_INDEX_FILE")
    monkeypatch.delenv("GIT_WORK_TREE")
    assert fingerprint(dirty_repo) == before


def test_failed_open_leaves_nothing_behind(make_repo, tmp_path):
    repo = make_repo({"a": "1\n"})
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    with pytest.raises(WorkspaceError):
        Workspace.open(repo, run_id="fail", base_dir=blocker / "wt")
    assert git(repo, "for-each-ref", "refs/codeagent") == ""
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1


def test_parallel_workspaces_on_one_repo(make_repo):
    """Best-of-n opens several workspaces of one repo at once; each stays its own."""
    from concurrent.futures import ThreadPoolExecutor

    repo = make_repo({"a.txt": "base\n"})
    before = fingerprint(repo)

    def attempt(i: int) -> tuple[str, list[str]]:
        ws = Workspace.open(repo, run_id=f"par{i}")
        (ws.path / "a.txt").write_text(f"attempt {i}\n")
        ws.checkpoint(f"attempt {i}")
        diff, files = ws.diff(), ws.changed_files()
        ws.close()
        return diff, files

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(attempt, range(4)))
    for i, (diff, files) in enumerate(results):
        assert f"+attempt {i}" in diff and files == ["a.txt"]
    assert fingerprint(repo) == before
    assert git(repo, "for-each-ref", "refs/codeagent") == ""
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1


KILLED_CHILD = """
import sys, time
from pathlib import Path
from codeagent.workspace import Workspace
ws = Workspace.open(Path(sys.argv[1]), run_id="killed")
(ws.path / "a").write_text("step 1\\n")
print(ws.checkpoint("step 1"), flush=True)
(ws.path / "a").write_text("half of step 2\\n")
(ws.path / "b").write_text("new in step 2\\n")
print("edited", flush=True)
time.sleep(60)
"""


def test_reopen_after_sigkill(make_repo):
    import signal
    import subprocess
    import sys

    repo = make_repo({"a": "0\n"})
    before = fingerprint(repo)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, str(repo)], stdout=subprocess.PIPE, text=True)
    first = proc.stdout.readline().strip()
    assert proc.stdout.readline().strip() == "edited"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert fingerprint(repo) == before
    ws = Workspace.reopen(repo, "killed")
    assert ws.checkpoints == [first]
    assert (ws.path / "a").read_text() == "half of step 2\n" and ws.changed_files(since=first) == ["a", "b"]
    assert f"pid={os.getpid()}" in git(repo, "worktree", "list", "--porcelain")  # this process owns it now
    assert ws.rollback() == first and (ws.path / "a").read_text() == "step 1\n" and not (ws.path / "b").exists()
    assert cleanup_stale(repo) == []  # its owner (this process) is alive
    ws.close()


def test_big_untracked_files_are_left_out(make_repo):
    repo = make_repo({"a.txt": "1\n"})
    (repo / "data").mkdir()
    (repo / "data" / "big dump.csv").write_bytes(b"x" * 5000)
    (repo / "small.txt").write_text("carried\n")
    ws = Workspace.open(repo, run_id="big", max_untracked_bytes=1000)
    assert ws.skipped == ["data/big dump.csv"]
    assert not (ws.path / "data" / "big dump.csv").exists() and (ws.path / "small.txt").exists()
    (ws.path / "a.txt").write_text("2\n")
    assert ws.changed_files() == ["a.txt"]
    assert ws.apply_back().applied and (repo / "data" / "big dump.csv").stat().st_size == 5000
    ws.close()

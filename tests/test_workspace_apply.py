"""Apply-back on real git repos: worktree, conflict, commit, branch and patch modes."""

from __future__ import annotations

import pytest

from codeagent.errors import ConfigError
from codeagent.workspace import Workspace, check_branch_name
from tests.conftest import git
from tests.test_workspace import BINARY, fingerprint


@pytest.fixture
def repo(make_repo):
    return make_repo({"app.py": "line1\nline2\nline3\n", "other.txt": "other\n", "old.txt": "remove\n"})


def agent_edits(ws):
    (ws.path / "app.py").write_text("line1\nline2 by agent\nline3\n")
    (ws.path / "new.bin").write_bytes(BINARY)
    (ws.path / "old.txt").unlink()
    (ws.path / "tool.sh").write_text("#!/bin/sh\n")
    (ws.path / "tool.sh").chmod(0o755)


def test_apply_to_worktree(repo):
    (repo / "other.txt").write_text("user edit while running\n")
    git(repo, "add", "other.txt")
    index_before = (repo / ".git" / "index").read_bytes()
    ws = Workspace.open(repo, run_id="a1")
    agent_edits(ws)
    ws.checkpoint("done")
    result = ws.apply_back()
    assert result.applied and result.conflict is None and result.mode == "worktree"
    assert sorted(result.files) == ["app.py", "new.bin", "old.txt", "tool.sh"]
    assert (repo / "app.py").read_text() == "line1\nline2 by agent\nline3\n"
    assert (repo / "new.bin").read_bytes() == BINARY
    assert not (repo / "old.txt").exists()
    assert (repo / "tool.sh").stat().st_mode & 0o111
    assert (repo / "other.txt").read_text() == "user edit while running\n"
    assert (repo / ".git" / "index").read_bytes() == index_before  # the index is not touched
    assert git(repo, "log", "--oneline").count("\n") == 1
    ws.close()


def test_user_edit_on_other_lines_merges(repo):
    ws = Workspace.open(repo, run_id="merge")
    (ws.path / "app.py").write_text("line1\nline2 by agent\nline3\n")
    (repo / "other.txt").write_text("user changed another file\n")
    assert ws.apply_back().applied
    assert (repo / "app.py").read_text() == "line1\nline2 by agent\nline3\n"
    ws.close()


def test_conflict_applies_nothing_and_saves_patch(repo, tmp_path):
    ws = Workspace.open(repo, run_id="conf")
    agent_edits(ws)
    (repo / "app.py").write_text("line1\nline2 by the user meanwhile\nline3\n")
    before = fingerprint(repo)
    result = ws.apply_back()
    assert not result.applied and result.conflict and "app.py" in result.conflict
    assert fingerprint(repo) == before  # not even the non-conflicting files
    assert result.patch_path.read_text(errors="replace") == ws.diff()
    assert "nothing applied" in result.message and str(result.patch_path) in result.message
    # The saved patch applies once the user's edit is gone.
    git(repo, "checkout", "--", "app.py")
    git(repo, "apply", str(result.patch_path))
    assert (repo / "app.py").read_text() == "line1\nline2 by agent\nline3\n"
    chosen = tmp_path / "out" / "mine.patch"
    (repo / "app.py").write_text("user again\n")
    assert ws.apply_back(patch_path=chosen).patch_path == chosen and chosen.is_file()
    ws.close()


def test_conflict_when_user_created_the_same_new_file(repo):
    ws = Workspace.open(repo, run_id="newfile")
    (ws.path / "added.py").write_text("agent\n")
    (repo / "added.py").write_text("user\n")
    result = ws.apply_back()
    assert not result.applied and "added.py" in result.conflict
    assert (repo / "added.py").read_text() == "user\n"
    ws.close()


def test_empty_diff_says_so(repo):
    ws = Workspace.open(repo, run_id="empty")
    result = ws.apply_back()
    assert not result.applied and result.files == [] and "nothing to apply" in result.message
    ws.close()


def test_commit_mode(repo):
    (repo / "other.txt").write_text("staged but untouched by the run\n")
    git(repo, "add", "other.txt")
    ws = Workspace.open(repo, run_id="cm")
    agent_edits(ws)
    result = ws.apply_back("commit", message="codeagent: agent work")
    assert result.applied and result.commit == git(repo, "rev-parse", "HEAD").strip()
    shown = git(repo, "show", "--stat", "--format=%s", "HEAD")
    assert "codeagent: agent work" in shown and "other.txt" not in shown
    assert sorted(git(repo, "show", "--name-only", "--format=", "HEAD").split()) == sorted(result.files)
    assert git(repo, "diff", "--cached", "--name-only").split() == ["other.txt"]  # still staged
    assert git(repo, "status", "--porcelain", "--", "app.py") == ""
    ws.close()


def test_commit_mode_refuses_dirty_touched_files(repo):
    (repo / "app.py").write_text("line1\nline2\nline3\nuser tail\n")
    ws = Workspace.open(repo, run_id="cmd")
    (ws.path / "app.py").write_text("line0\nline1\nline2\nline3\nuser tail\n")
    head = git(repo, "rev-parse", "HEAD")
    result = ws.apply_back("commit")
    assert not result.applied and "uncommitted changes" in result.conflict and result.patch_path.is_file()
    assert git(repo, "rev-parse", "HEAD") == head
    assert (repo / "app.py").read_text() == "line1\nline2\nline3\nuser tail\n"
    ws.close()


def test_branch_mode_leaves_checkout_alone(repo):
    ws = Workspace.open(repo, run_id="br")
    agent_edits(ws)
    before = fingerprint(repo)
    result = ws.apply_back("branch", branch="agent/feature", message="codeagent: feature")
    assert result.applied and result.branch == "agent/feature"
    before["branches"] = fingerprint(repo)["branches"]  # the new branch is the only change
    assert fingerprint(repo) == before
    assert git(repo, "rev-parse", "agent/feature^").strip() == ws.start_head
    assert git(repo, "show", "agent/feature:app.py") == "line1\nline2 by agent\nline3\n"
    assert "old.txt" not in git(repo, "ls-tree", "--name-only", "agent/feature")
    again = ws.apply_back("branch", branch="agent/feature")
    assert not again.applied and "already exists" in again.conflict
    ws.close()


def test_branch_mode_keeps_uncommitted_start_as_its_own_commit(repo):
    (repo / "other.txt").write_text("user wip\n")
    ws = Workspace.open(repo, run_id="brwip")
    (ws.path / "app.py").write_text("agent\n")
    result = ws.apply_back("branch", branch="wip-fix")
    assert git(repo, "rev-parse", "wip-fix^").strip() == ws.base_commit
    assert git(repo, "rev-parse", "wip-fix^^").strip() == ws.start_head
    assert git(repo, "diff", "--name-only", "wip-fix^", "wip-fix").split() == ["app.py"]
    assert result.applied
    ws.close()


def test_patch_mode_only_writes(repo, tmp_path):
    ws = Workspace.open(repo, run_id="pm")
    agent_edits(ws)
    before = fingerprint(repo)
    out = tmp_path / "p" / "run.patch"
    result = ws.apply_back("patch", patch_path=out)
    assert not result.applied and result.conflict is None and result.patch_path == out
    assert fingerprint(repo) == before
    git(repo, "apply", "--check", str(out))
    ws.close()


def test_bad_mode_and_branch_names(repo):
    ws = Workspace.open(repo, run_id="bad")
    with pytest.raises(ConfigError, match="unknown apply mode"):
        ws.apply_back("sideways")
    with pytest.raises(ConfigError, match="branch name"):
        ws.apply_back("branch")
    with pytest.raises(ConfigError, match="not a valid branch"):
        check_branch_name(repo, "bad..name")
    with pytest.raises(ConfigError, match="already exists"):
        check_branch_name(repo, "main")
    check_branch_name(repo, "fresh-name")
    ws.close()


def test_non_utf8_content_round_trips(make_repo, tmp_path):
    from codeagent.session import SessionLog

    repo = make_repo({"a.txt": "x\n"})
    (repo / "latin.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    git(repo, "add", "latin.txt")
    git(repo, "commit", "-qm", "latin")
    ws = Workspace.open(repo, run_id="latin")
    (ws.path / "latin.txt").write_bytes("caf\xe9 cr\xe8me\n".encode("latin-1"))
    diff = ws.diff()
    log = SessionLog.create(tmp_path / "s", repo=repo, instruction="x", config={}, secrets=[])
    log.write({"kind": "final", "diff": diff})
    assert log.save_patch(diff).read_bytes() == ws.diff_bytes()
    result = ws.apply_back()
    assert result.applied and result.patch_path is None
    assert (repo / "latin.txt").read_bytes() == "caf\xe9 cr\xe8me\n".encode("latin-1")
    ws.close()


def test_user_repo_that_is_itself_a_linked_worktree(make_repo, tmp_path):
    main = make_repo({"a.txt": "1\n"})
    linked = tmp_path / "linked"
    git(main, "worktree", "add", "-q", "-b", "side", str(linked))
    (linked / "a.txt").write_text("dirty in linked\n")
    ws = Workspace.open(linked / ".", run_id="lk")
    assert (ws.path / "a.txt").read_text() == "dirty in linked\n"
    (ws.path / "a.txt").write_text("agent\n")
    assert ws.apply_back().applied and (linked / "a.txt").read_text() == "agent\n"
    assert (main / "a.txt").read_text() == "1\n"
    ws.close()
    assert str(linked) in git(main, "worktree", "list")

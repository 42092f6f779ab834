"""A task's own workspace: a copy of a plain folder, a clone of a local repo at a
commit or branch, a clone of a git URL; the source is never touched."""

from __future__ import annotations

import pytest

from codeagent.batch.tasks import BatchTask
from codeagent.batch.worker import fault_reason, prepare_workspace
from codeagent.errors import ConfigError, ModelUnavailableError
from repo_helpers import git


def task(repo, commit=None) -> BatchTask:
    return BatchTask(id="t", repo=str(repo), commit=commit, instruction="x")


def test_a_plain_folder_is_copied_and_committed(tmp_path):
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "a.py").write_text("A = 1\n")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "x.pyc").write_bytes(b"junk")
    ws = prepare_workspace(task(src), tmp_path / "ws")
    assert (ws / "pkg" / "a.py").read_text() == "A = 1\n"
    assert not (ws / "__pycache__").exists()
    assert git(ws, "status", "--porcelain") == ""
    assert git(ws, "ls-files").split() == ["pkg/a.py"]
    assert not (src / ".git").exists()


def test_a_local_repo_is_cloned_at_a_commit_or_branch_without_uncommitted_changes(make_repo, tmp_path):
    repo = make_repo({"a.txt": "one\n"})
    first = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "a.txt").write_text("feature\n")
    git(repo, "commit", "-qam", "feature")
    git(repo, "checkout", "-q", "main")
    (repo / "a.txt").write_text("dirty\n")
    assert (prepare_workspace(task(repo), tmp_path / "head") / "a.txt").read_text() == "one\n"
    assert (prepare_workspace(task(repo, "feature"), tmp_path / "br") / "a.txt").read_text() == "feature\n"
    ws = prepare_workspace(task(repo, first[:10]), tmp_path / "sha")
    assert git(ws, "rev-parse", "HEAD").strip() == first
    assert (repo / "a.txt").read_text() == "dirty\n"
    with pytest.raises(ConfigError, match="commit 'nope' is not in"):
        prepare_workspace(task(repo, "nope"), tmp_path / "bad")


def test_a_git_url_is_cloned_at_its_commit(make_repo, tmp_path):
    repo = make_repo({"a.txt": "v1\n"})
    v1 = git(repo, "rev-parse", "HEAD").strip()
    (repo / "a.txt").write_text("v2\n")
    git(repo, "commit", "-qam", "v2")
    ws = prepare_workspace(BatchTask(id="u", repo=f"file://{repo}", commit=v1, instruction="x"), tmp_path / "ws")
    assert (ws / "a.txt").read_text() == "v1\n"


def test_missing_sources_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="is not a folder"):
        prepare_workspace(task(tmp_path / "nope"), tmp_path / "ws")
    with pytest.raises(ConfigError, match="git clone failed"):
        prepare_workspace(BatchTask(id="u", repo=f"file://{tmp_path}/nope.git", commit="x", instruction="x"),
                          tmp_path / "ws2")
    assert fault_reason(ModelUnavailableError("m")) == "error:model_unavailable"
    assert fault_reason(ConfigError("m")) == "error:config"

"""Adversarial suite, apply-back class: results that would act on the user's machine
once applied (an embedded bare repository whose config runs core.fsmonitor, a gitlink,
symlinks out of the repo) are left out and named; commit mode refuses when the user's
HEAD or branch moved during the run. Each test fails if its defence goes."""

from __future__ import annotations

import os
import subprocess

import pytest

from codeagent.workspace import Workspace
from tests.conftest import git


@pytest.fixture
def repo(make_repo):
    return make_repo({"app.py": "x = 1\n"})


def plant_bare_repo(ws_path, folder: str, marker) -> None:
    evil = ws_path / folder
    (evil / "objects").mkdir(parents=True)
    (evil / "refs" / "heads").mkdir(parents=True)
    (evil / "refs" / "heads" / "keep").write_text("")
    (evil / "objects" / "keep").write_text("")
    (evil / "HEAD").write_text("ref: refs/heads/main\n")
    (evil / "config").write_text(f"[core]\n\trepositoryformatversion = 0\n\tbare = true\n"
                                 f"\tfsmonitor = \"touch {marker}\"\n")


@pytest.mark.parametrize("mode", ["worktree", "commit", "branch"])
def test_embedded_bare_repo_is_never_applied_back(repo, tmp_path, mode):
    marker = tmp_path / "fsmonitor-ran"
    ws = Workspace.open(repo, run_id=f"bare-{mode}")
    (ws.path / "app.py").write_text("x = 2\n")
    plant_bare_repo(ws.path, "vendor/evil", marker)
    result = ws.apply_back(mode, branch="agent-result" if mode == "branch" else None)
    assert result.applied, result.message
    assert any(p.startswith("vendor/evil/") for p in result.left_out) and "unsafe" in result.message
    assert not any(f.startswith("vendor/evil/") for f in result.files)
    if mode == "branch":
        listed = git(repo, "ls-tree", "-r", "--name-only", "agent-result")
        assert "app.py" in listed and "vendor/evil" not in listed
    else:
        assert not (repo / "vendor" / "evil" / "config").exists()
        assert (repo / "app.py").read_text() == "x = 2\n"
    ws.close()


def test_symlinks_leaving_the_repo_are_left_out(repo, tmp_path):
    ws = Workspace.open(repo, run_id="links")
    (ws.path / "ssh").symlink_to(os.path.expanduser("~/.ssh"))
    (ws.path / "up").symlink_to("../../outside")
    (ws.path / "inside").symlink_to("app.py")
    result = ws.apply_back("worktree")
    assert set(result.left_out) == {"ssh", "up"}
    assert not (repo / "ssh").is_symlink() and not (repo / "up").is_symlink()
    assert (repo / "inside").is_symlink()
    ws.close()


def test_gitlink_is_left_out(repo, make_repo):
    inner = make_repo({"f.txt": "inner\n"}, name="inner")
    ws = Workspace.open(repo, run_id="gitlink")
    subprocess.run(["git", "clone", "-q", str(inner), str(ws.path / "sub")], check=True)
    (ws.path / "app.py").write_text("x = 3\n")
    result = ws.apply_back("worktree")
    assert "sub" in result.left_out and "embedded repository" in result.left_out["sub"]
    assert not (repo / "sub").exists()
    ws.close()


def test_patch_mode_leaves_them_out_of_the_patch_too(repo, tmp_path):
    ws = Workspace.open(repo, run_id="patchmode")
    (ws.path / "app.py").write_text("x = 4\n")
    plant_bare_repo(ws.path, "e", tmp_path / "m")
    result = ws.apply_back("patch", patch_path=tmp_path / "out.patch")
    text = (tmp_path / "out.patch").read_text()
    assert "x = 4" in text and "fsmonitor" not in text and result.left_out
    ws.close()


def test_commit_refused_when_the_user_switched_branch(repo, tmp_path):
    ws = Workspace.open(repo, run_id="switch")
    (ws.path / "app.py").write_text("x = 5\n")
    git(repo, "checkout", "-q", "-b", "other")
    (repo / "b.txt").write_text("b\n")
    git(repo, "add", "b.txt")
    git(repo, "commit", "-qm", "other work")
    result = ws.apply_back("commit", patch_path=tmp_path / "saved.patch")
    assert not result.applied and "HEAD moved" in result.conflict
    assert (tmp_path / "saved.patch").exists()
    assert git(repo, "log", "--format=%s", "-1") .strip() == "other work"
    ws.close()


def test_commit_refused_when_the_branch_changed_at_the_same_commit(repo, tmp_path):
    ws = Workspace.open(repo, run_id="samecommit")
    (ws.path / "app.py").write_text("x = 6\n")
    git(repo, "checkout", "-q", "-b", "twin")  # same commit, another branch
    result = ws.apply_back("commit", patch_path=tmp_path / "saved.patch")
    assert not result.applied and "branch changed" in result.conflict
    ws.close()


def test_commit_still_works_when_nothing_moved(repo):
    ws = Workspace.open(repo, run_id="still")
    (ws.path / "app.py").write_text("x = 7\n")
    result = ws.apply_back("commit")
    assert result.applied and result.commit and not result.left_out
    ws.close()

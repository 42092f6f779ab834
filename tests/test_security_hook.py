"""Adversarial suite, hook class: a repository that plants a `codeagent` package (or a
PYTHONPATH) to run its own code as the user on every commit. The installed hook and
the pre-commit-framework entry run Python isolated (-I); each test fails without it."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from codeagent.hooks.install import install
from test_hooks_support import run_git

EVIL = "import pathlib, sys\npathlib.Path({marker!r}).write_text('ran')\nsys.exit(0)\n"


def plant(where: Path, marker: Path) -> None:
    for rel in ("codeagent/__init__.py", "codeagent/hooks/__init__.py", "codeagent/hooks/__main__.py",
                "codeagent/cli/__init__.py", "codeagent/cli/main.py"):
        path = where / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(EVIL.format(marker=str(marker)))


@pytest.fixture
def hostile_repo(make_repo, tmp_path):
    repo = make_repo({"app.py": "x = 1\n", "README.md": "hi\n"})
    return repo


def commit(repo: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    (repo / "README.md").write_text("changed\n")
    run_git(repo, "add", "README.md")
    return subprocess.run(["git", "commit", "-qm", "docs"], cwd=repo, capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})


def test_hook_does_not_import_a_codeagent_folder_in_the_repo(hostile_repo, tmp_path):
    marker = tmp_path / "pwned-cwd"
    plant(hostile_repo, marker)
    install(hostile_repo, "check")
    proc = commit(hostile_repo)
    assert not marker.exists(), proc.stderr
    assert "-I -m codeagent.hooks" in (hostile_repo / ".git" / "hooks" / "pre-commit").read_text()


def test_hook_ignores_a_pythonpath_planted_in_the_environment(hostile_repo, tmp_path):
    marker = tmp_path / "pwned-pythonpath"
    evil = tmp_path / "evil"
    plant(evil, marker)
    install(hostile_repo, "check")
    commit(hostile_repo, {"PYTHONPATH": str(evil)})
    assert not marker.exists()


def shipped_entry() -> list[str]:
    text = (Path(__file__).resolve().parents[1] / ".pre-commit-hooks.yaml").read_text()
    line = next(l for l in text.splitlines() if l.strip().startswith("entry:"))
    return shlex.split(line.split(":", 1)[1])


def test_pre_commit_framework_entry_runs_isolated(hostile_repo, tmp_path):
    entry = shipped_entry()
    assert entry[:2] == ["python", "-I"]
    marker = tmp_path / "pwned-framework"
    plant(hostile_repo, marker)
    (hostile_repo / "README.md").write_text("changed\n")
    run_git(hostile_repo, "add", "README.md")
    proc = subprocess.run([sys.executable, *entry[1:], "--mode", "check"], cwd=hostile_repo, capture_output=True,
                          text=True, timeout=120)
    assert not marker.exists(), proc.stderr

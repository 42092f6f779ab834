"""Shared pieces for the pre-commit helper's tests (no tests in here)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

CALC = "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n"
CALC_TESTS = (
    "from calc import add, sub\n\n\n"
    "def test_add():\n    assert add(2, 3) == 5\n\n\n"
    "def test_sub():\n    assert sub(5, 3) == 2\n"
)
PROJECT = {
    "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\npythonpath = ["."]\n',
    "calc.py": CALC,
    "tests/test_calc.py": CALC_TESTS,
    "README.md": "# calc\n",
}


def run_git(repo: Path, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=env, check=check)


def hook_env(**extra: str) -> dict[str, str]:
    """The environment a hook process gets in tests: ours plus `extra`."""
    env = dict(os.environ)
    env.update(extra)
    return env


def run_hook(repo: Path, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run what the installed hook runs: `python -m codeagent.hooks ARGS` in `repo`."""
    return subprocess.run([sys.executable, "-m", "codeagent.hooks", *args], cwd=repo, capture_output=True,
                          text=True, env=env, timeout=timeout)


def tree_state(repo: Path) -> dict[str, str]:
    """Every file under `repo` outside .git with a hash of its bytes and its mode,
    plus the index: what must not change when the hook only checks."""
    state = {}
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        if path.is_symlink():
            state[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            state[rel] = f"{oct(path.stat().st_mode)}:{hashlib.sha256(path.read_bytes()).hexdigest()}"
    state[".git/index (entries)"] = run_git(repo, "ls-files", "-s").stdout
    state["HEAD"] = run_git(repo, "rev-parse", "HEAD", check=False).stdout
    return state

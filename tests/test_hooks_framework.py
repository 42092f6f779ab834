"""codeagent through the real pre-commit framework, via `.pre-commit-hooks.yaml`.

The framework clones the hook repo (a snapshot of this checkout, committed into a
temporary git repo), builds its own virtualenv and pip-installs codeagent into it,
then runs `codeagent precommit` on each commit. Offline: the virtualenv sees the
already installed dependencies (VIRTUALENV_SYSTEM_SITE_PACKAGES), pip never
contacts an index (PIP_NO_INDEX) and builds the wheel with the installed
hatchling (build isolation off), so the test needs no network.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from test_hooks_support import CALC, PROJECT, hook_env, run_git

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ["src", "prompts", "sandbox", "pyproject.toml", "README.md", ".pre-commit-hooks.yaml"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("pre-commit") is None, reason="the pre-commit framework is not installed"),
]


def hook_repo(tmp_path: Path) -> tuple[Path, str]:
    repo = tmp_path / "codeagent-hooks"
    repo.mkdir()
    for name in SHIPPED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, repo / name)
    run_git(repo, "init", "-q")
    run_git(repo, "add", "-A")
    run_git(repo, "commit", "-q", "-m", "codeagent snapshot")
    return repo, run_git(repo, "rev-parse", "HEAD").stdout.strip()


def test_codeagent_runs_as_a_pre_commit_framework_hook(make_repo, tmp_path):
    hooks, rev = hook_repo(tmp_path)
    files = dict(PROJECT)
    files[".pre-commit-config.yaml"] = (
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n    hooks:\n      - id: codeagent\n"
        "        args: [--mode, check, --budget, '300']\n")
    repo = make_repo(files)
    env = hook_env(PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), VIRTUALENV_SYSTEM_SITE_PACKAGES="true",
                   PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1",
                   CODEAGENT_SANDBOX="none")
    subprocess.run(["pre-commit", "install"], cwd=repo, env=env, check=True, capture_output=True)

    (repo / "calc.py").write_text(CALC.replace("a + b", "a - b"))
    run_git(repo, "add", "calc.py")
    (repo / "calc.py").write_text(CALC.replace("a + b", "a - b") + "# unstaged\n")
    proc = run_git(repo, "commit", "-m", "broken", env=env, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "codeagent" in out and "BLOCKED" in out and "test_add" in out
    venvs = list((tmp_path / "pre-commit-home").glob("repo*/py_env-*/bin/codeagent"))
    assert venvs, "the framework did not install codeagent into its own environment"
    assert (repo / "calc.py").read_text().endswith("# unstaged\n")

    (repo / "calc.py").write_text(CALC + "\n\ndef mul(a, b):\n    return a * b\n")
    run_git(repo, "add", "calc.py")
    proc = run_git(repo, "commit", "-m", "mul", env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout + proc.stderr

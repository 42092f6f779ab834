"""Hermetic tests: a temp config/data/cache dir, no model keys, no real endpoint."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SECRET_VARS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "ANTHROPIC_API_KEY")


@pytest.fixture(autouse=True)
def hermetic_env(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    for var in list(os.environ):
        if var.startswith("CODEAGENT_") or var in SECRET_VARS:
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CODEAGENT_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("CODEAGENT_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("CODEAGENT_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("CODEAGENT_SANDBOX_PROFILE", str(Path(__file__).parent / "data" / "fast_tests.toml"))
    (home / "gitconfig").write_text("[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n")
    yield


from repo_helpers import git  # noqa: E402  (re-exported for older imports)


@pytest.fixture
def make_repo(tmp_path):
    """make_repo({"path": "content", ...}) -> a committed git repo in tmp_path."""

    def _make(files: dict[str, str], name: str = "repo") -> Path:
        repo = tmp_path / name
        repo.mkdir()
        git(repo, "init", "-q")
        for rel, content in files.items():
            p = repo / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(content)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "initial")
        return repo

    return _make

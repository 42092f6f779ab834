"""Small git helpers shared by several components (plain functions over gitpython)."""

from __future__ import annotations

from pathlib import Path

import git


def find_repo_root(start: Path) -> Path | None:
    """The top of the git work tree containing `start`, or None outside any repo."""
    try:
        repo = git.Repo(start, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None
    if repo.bare or repo.working_tree_dir is None:
        return None
    return Path(repo.working_tree_dir)

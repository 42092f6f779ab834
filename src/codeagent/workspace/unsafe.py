"""Paths of a run's result that are never applied back to the user's repository.

A run's worktree is written by a model and by commands the repository controls. Some
results would act on the user's machine the moment git looks at them:

    gitlink        an embedded repository (mode 160000)
    .git           a path with a `.git` component below the top
    git dir        a folder holding both HEAD and config: a bare repository, whose
                   config (core.fsmonitor, core.worktree, core.hooksPath) runs when the
                   user later runs `git status` inside it
    symlink out    a symlink whose target is absolute or climbs out of the repository

`unsafe_paths` names them with the reason; apply-back leaves them out and says so.
"""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from codeagent.workspace.core import Workspace

GITLINK, SYMLINK = "160000", "120000"


def unsafe_paths(ws: "Workspace") -> dict[str, str]:
    """{path: reason} for each added or changed path of the result that must not land."""
    out = ws.wt.run("diff", "--cached", "--raw", "-z", "--no-renames", "--no-abbrev", ws.base_commit).out
    fields = out.split(b"\0")
    found: dict[str, str] = {}
    changed: list[str] = []
    for meta, raw in zip(fields[0::2], fields[1::2]):
        parts = meta.decode().lstrip(":").split()
        if len(parts) < 5 or parts[4].startswith("D"):
            continue
        new_mode, new_sha = parts[1], parts[3]
        path = raw.decode("utf-8", "surrogateescape")
        changed.append(path)
        reason = _reason(ws, path, new_mode, new_sha)
        if reason:
            found[path] = reason
    for folder in _git_dirs(ws.path, changed):
        for path in changed:
            if path.startswith(folder + "/"):
                found.setdefault(path, f"inside {folder}/, a git directory (HEAD and config)")
    return found


def _reason(ws: "Workspace", path: str, mode: str, sha: str) -> str | None:
    if mode == GITLINK:
        return "an embedded repository"
    if any(part.lower().rstrip(". ") == ".git" for part in path.split("/")):
        return "a .git path in a subfolder"
    if mode == SYMLINK:
        target = ws.wt.run("cat-file", "blob", sha).out.decode("utf-8", "surrogateescape")
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        if target.startswith("/") or joined == ".." or joined.startswith("../"):
            return f"a symlink pointing out of the repository ({target})"
    return None


def _git_dirs(root: Path, changed: list[str]) -> list[str]:
    """Folders of the result that hold HEAD and config (a git directory), shallowest first."""
    folders = sorted({posixpath.dirname(p) for p in changed if posixpath.basename(p) in ("HEAD", "config")},
                     key=len)
    return [f for f in folders if f and (root / f / "HEAD").is_file() and (root / f / "config").is_file()]

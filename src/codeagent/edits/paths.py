"""Workspace path safety: the one place that turns a path a model wrote into a real
path, refusing anything outside the workspace, through a symlink that leaves it, or
inside a `.git` directory. The loop's read_file / list_files tools use it too."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from codeagent.edits.errors import PathRefused


def resolve_in_workspace(root: Path, rel: str, *, for_write: bool) -> Path:
    """The real path of `rel` inside `root`, symlinks resolved; raises PathRefused.

    `rel` may be relative to root or absolute inside it. Every existing symlink on the
    way is followed and must stay inside root; nothing under any `.git` is allowed.
    A write target must not be a directory or the root itself.
    """
    root = Path(os.path.realpath(root))
    text = (rel or "").strip()
    if not text or "\x00" in text:
        raise PathRefused(f"{rel!r} is not a usable path", path=rel)
    candidate = Path(text)
    if candidate.is_absolute():
        try:
            candidate = Path(os.path.abspath(candidate)).relative_to(root)
        except ValueError:
            raise PathRefused(f"{rel}: outside the workspace {root}", path=rel) from None
    parts = PurePosixPath(candidate.as_posix()).parts
    if any(part == ".git" for part in parts):
        raise PathRefused(f"{rel}: inside .git/, which is never read or written", path=rel)
    target = _walk(root, parts, rel)
    if target == root and for_write:
        raise PathRefused(f"{rel}: is the workspace root, not a file", path=rel)
    if for_write and target.is_dir():
        raise PathRefused(f"{rel}: is a directory, not a file", path=rel)
    return target


def _walk(root: Path, parts: tuple[str, ...], rel: str) -> Path:
    """Join parts one by one, resolving '..' and symlinks, checking containment at each step."""
    current = root
    for part in parts:
        if part in ("", "."):
            continue
        if part == "..":
            current = current.parent
        else:
            current = current / part
        if not _inside(current, root):
            raise PathRefused(f"{rel}: outside the workspace {root}", path=rel)
        if current.is_symlink():
            real = Path(os.path.realpath(current))
            if not _inside(real, root):
                raise PathRefused(f"{rel}: goes through a symlink that leaves the workspace ({current.name} -> {real})", path=rel)
            if ".git" in real.relative_to(root).parts:
                raise PathRefused(f"{rel}: a symlink into .git/, which is never read or written", path=rel)
            current = real
    return current


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def display_path(root: Path, path: Path) -> str:
    """`path` relative to the (real) root, POSIX style, for messages and reports."""
    try:
        return Path(path).relative_to(Path(os.path.realpath(root))).as_posix()
    except ValueError:
        return str(path)

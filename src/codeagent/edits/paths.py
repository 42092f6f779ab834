"""Workspace path safety: the one place that turns a path a model wrote into a real
path, refusing anything outside the workspace (or, for reading, the session's own
outputs folder), through a symlink that leaves it, inside a `.git` directory, or that
is not a regular file or directory (a FIFO, socket or device would hang or leak).
Every tool goes through it: edits, writes, read_file, list_files, search; reading
itself is in `reading`."""

from __future__ import annotations

import os
import stat
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
    _check_kind(target, rel)
    if target == root and for_write:
        raise PathRefused(f"{rel}: is the workspace root, not a file", path=rel)
    if for_write and target.is_dir():
        raise PathRefused(f"{rel}: is a directory, not a file", path=rel)
    return target


def resolve_for_tool(root: Path, rel: str, *, outputs: Path | None = None, for_write: bool = False) -> Path:
    """Like `resolve_in_workspace`, but an absolute path inside `outputs` (the session's
    saved long outputs) may be read: normalised first, then held to that folder."""
    text = (rel or "").strip()
    if outputs is not None and not for_write and text.startswith("/") and "\x00" not in text:
        normal = os.path.normpath(text)
        for top in {os.path.abspath(outputs), os.path.realpath(outputs)}:
            if normal.startswith(top + os.sep):
                return resolve_in_workspace(Path(top), os.path.relpath(normal, top), for_write=False)
    return resolve_in_workspace(root, text, for_write=for_write)


def _check_kind(target: Path, rel: str) -> None:
    """Refuse an existing target that is neither a regular file nor a directory."""
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise PathRefused(f"{rel}: cannot be examined ({exc.strerror})", path=rel) from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device or special file"
        raise PathRefused(f"{rel}: is {kind}, not a regular file", path=rel)


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

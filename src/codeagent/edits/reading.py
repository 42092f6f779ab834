"""Reading and walking the workspace for the tools, after `paths` has resolved the path.

A read never opens anything but a regular file: it is checked with lstat first, opened
with O_NOFOLLOW | O_NONBLOCK (a FIFO swapped in between cannot block the open), checked
again on the open descriptor, and read up to a byte cap, never whole. A walk never
follows a directory symlink, yields only regular files, and skips file symlinks whose
target leaves the root.
"""

from __future__ import annotations

import fnmatch
import os
import stat
from pathlib import Path
from typing import Collection, Iterator

from codeagent.edits.errors import PathRefused

CHUNK = 1 << 16


def read_capped(path: Path, cap: int) -> bytes:
    """At most `cap + 1` bytes of the regular file `path` (so the caller can tell it is
    longer); raises PathRefused for anything else (symlink, FIFO, device, socket)."""
    before = os.lstat(path)
    if not stat.S_ISREG(before.st_mode):
        raise PathRefused(f"{path.name}: not a regular file", path=str(path))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
            raise PathRefused(f"{path.name}: changed while being opened", path=str(path))
        chunks: list[bytes] = []
        left = cap + 1
        while left > 0:
            data = os.read(fd, min(CHUNK, left))
            if not data:
                break
            chunks.append(data)
            left -= len(data)
        return b"".join(chunks)
    finally:
        os.close(fd)


def walk_files(root: Path, base: Path, glob: str | None = None, skip_dirs: Collection[str] = ()) -> Iterator[str]:
    """Paths (relative to `root`) of the regular files under `base`, sorted per folder;
    a symlink counts only when its target is a regular file inside `root`."""
    real_root = os.path.realpath(root)
    for dirpath, dirnames, filenames in os.walk(base):  # never descends through a directory symlink
        dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs)
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if not _regular_inside(full, real_root):
                continue
            rel = os.path.relpath(full, real_root)
            if glob is None or fnmatch.fnmatch(name, glob) or fnmatch.fnmatch(rel, glob):
                yield rel


def _regular_inside(full: str, real_root: str) -> bool:
    try:
        mode = os.lstat(full).st_mode
        if stat.S_ISLNK(mode):
            real = os.path.realpath(full)
            if real != real_root and not real.startswith(real_root + os.sep):
                return False
            mode = os.stat(real).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode)

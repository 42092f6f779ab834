"""Which files the context engine may read: what git tracks plus untracked files
git does not ignore (`git ls-files -co --exclude-standard`); outside a git repo, a
walk that skips hidden and vendored folders. Also reads and hashes contents and
parses many files on every core."""

from __future__ import annotations

import hashlib
import marshal
import os
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from codeagent.context.languages import language_for
from codeagent.context.tags import extract, skip_by_name

WALK_SKIP_DIRS = frozenset({"node_modules", "__pycache__", "venv", "site-packages", "build", "dist", "target"})
INLINE_BELOW = 48  # fewer files than this are parsed in-process
CHUNK_BYTES = 128_000
CHUNK_FILES = 32


class Listing:
    """A file listing under way: `git ls-files` runs while the caller does other work."""

    def __init__(self, root: Path):
        self.root = root
        try:
            self._proc: subprocess.Popen | None = subprocess.Popen(
                ["git", "-c", "core.quotepath=off", "ls-files", "-z", "-co", "--exclude-standard"],
                cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            )
        except OSError:
            self._proc = None

    def result(self) -> list[str]:
        """Repo-relative POSIX paths of the files worth reading, sorted."""
        paths: set[str] | None = None
        if self._proc is not None:
            out, _ = self._proc.communicate()
            if self._proc.returncode == 0:
                paths = {p for p in out.decode("utf-8", "surrogateescape").split("\0") if p}
        if paths is None:  # not a git repo (or git missing): walk
            paths = set(_walk(self.root))
        return sorted(p for p in paths if not skip_by_name(p))


def list_files(root: Path) -> list[str]:
    """Repo-relative POSIX paths of the files worth reading, sorted."""
    return Listing(root).result()


def _walk(root: Path) -> Iterator[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in WALK_SKIP_DIRS]
        rel = os.path.relpath(dirpath, root)
        for name in filenames:
            if not name.startswith("."):
                yield name if rel == "." else f"{rel}/{name}".replace(os.sep, "/")


def record_key(path: str, data: bytes) -> str:
    """Content digest plus language: the same bytes parse the same way."""
    return hashlib.blake2b(data, digest_size=16).hexdigest() + ":" + (language_for(path) or "")


def read_key(root: Path, path: str) -> str | None:
    try:
        return record_key(path, (root / path).read_bytes())
    except OSError:
        return None


def parse_one(task: tuple[str, str]) -> tuple[str, str, int, int, bytes] | None:
    """(root, path) -> (path, key, size, mtime_ns, marshalled record), None if unreadable."""
    root, path = task
    full = os.path.join(root, path)
    try:
        st = os.stat(full)
        with open(full, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return path, record_key(path, data), st.st_size, st.st_mtime_ns, marshal.dumps(extract(path, data))


def _parse_chunk(tasks: list[tuple[str, str]]) -> list:
    return [parse_one(t) for t in tasks]


def _chunks(tasks: list[tuple[str, str]], sizes: dict[str, int]) -> list[list[tuple[str, str]]]:
    """Largest files first, in chunks of about CHUNK_BYTES, so both cores finish together."""
    tasks = sorted(tasks, key=lambda t: (-sizes.get(t[1], 0), t[1]))
    chunks: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] = []
    total = 0
    for task in tasks:
        current.append(task)
        total += sizes.get(task[1], 0)
        if total >= CHUNK_BYTES or len(current) >= CHUNK_FILES:
            chunks.append(current)
            current, total = [], 0
    if current:
        chunks.append(current)
    return chunks


def parse_many(root: Path, paths: list[str], workers: int | None = None, sizes: dict[str, int] | None = None) -> Iterator[tuple]:
    """Parse files on every core; yields parse_one results as chunks finish."""
    tasks = [(str(root), p) for p in paths]
    workers = workers or os.cpu_count() or 1
    if len(tasks) < INLINE_BELOW or workers == 1:
        for task in tasks:
            found = parse_one(task)
            if found is not None:
                yield found
        return
    # fork is cheapest and inherits the loaded grammars; with threads alive it is unsafe
    method = "fork" if threading.active_count() == 1 else "forkserver"
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context(method)) as pool:
        for results in pool.map(_parse_chunk, _chunks(tasks, sizes or {})):
            for found in results:
                if found is not None:
                    yield found

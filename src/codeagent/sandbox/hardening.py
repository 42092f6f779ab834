"""Extra bwrap arguments that close what a fresh /proc and a read-only system leave open.

Kernel knobs. A fresh /proc in the sandbox's pid namespace still exposes the global
kernel knobs; bwrap covers /proc/irq and /proc/bus, not /proc/sys. When codeagent runs
as root the sandbox's uid 0 is host uid 0, and writes to `/proc/sys` (core_pattern: a
pipe handler the kernel runs as host root) are checked against the owner bits only,
capabilities or not. So /proc/sys, /proc/sysrq-trigger, /proc/fs and friends are bound
read-only over the fresh /proc, and the files that leak kernel state are masked.

Host-root-only files. Running as root, the sandbox's uid is host uid 0 (bwrap maps only
the caller's own uid, and the workspace is root's to write), so owner-only files in
the bound system trees (/etc/shadow, ssh host keys, ssl/private) would be readable.
They are masked: an owner-only file becomes an empty /dev/null, an owner-only
directory an empty read-only tmpfs. Found once per process by one walk of /etc.
"""

from __future__ import annotations

import functools
import os
import stat
from pathlib import Path

# Each bind costs bwrap a mount or two (about 0.2 ms on a quiet machine), so only what is
# present and reachable is covered: bwrap itself already makes /proc/irq and /proc/bus
# read-only; kcore, kmsg and kallsyms need capabilities the sandbox does not have.
READ_ONLY_PROC = ("/proc/sys", "/proc/sysrq-trigger", "/proc/acpi")  # owner-writable: uid 0 writes without capabilities
ROOT_MASKED_PROC = ("/proc/keys", "/proc/timer_list")  # what uid 0 alone may read: key names, kernel timers
ROOT_ONLY_TREES = ("/etc",)


def proc_args(*, euid: int | None = None) -> list[str]:
    """To follow `--proc /proc`: kernel knobs read-only; as root, kernel-state files masked."""
    args: list[str] = []
    for path in READ_ONLY_PROC:
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    if (os.geteuid() if euid is None else euid) == 0:
        for path in ROOT_MASKED_PROC:
            if os.path.isfile(path):
                args += ["--ro-bind", "/dev/null", path]
    return args


def root_only_masks(bound: list[str], *, euid: int | None = None, empty_dir: Path | None = None) -> list[str]:
    """To follow the system binds, as root only: owner-only files under `bound` hidden
    (a file by /dev/null, a folder by `empty_dir`, else a read-only tmpfs)."""
    if (os.geteuid() if euid is None else euid) != 0:
        return []  # the kernel's own permission check already hides them
    args: list[str] = []
    for path, is_dir in _owner_only(tuple(top for top in ROOT_ONLY_TREES if any(
            top == b or top.startswith(b.rstrip("/") + "/") for b in bound))):
        if not is_dir:
            args += ["--ro-bind", "/dev/null", path]
        elif empty_dir is not None:
            args += ["--ro-bind", str(empty_dir), path]
        else:
            args += ["--tmpfs", path, "--remount-ro", path]
    return args


@functools.lru_cache(maxsize=8)
def _owner_only(tops: tuple[str, ...]) -> tuple[tuple[str, bool], ...]:
    """(path, is a directory) of every entry under `tops` that others may not read."""
    found: list[tuple[str, bool]] = []
    stack = list(tops)
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode) or (stat.S_ISREG(st.st_mode) and st.st_size == 0):
                continue  # an empty file (a lock) holds nothing to hide
            is_dir = stat.S_ISDIR(st.st_mode)
            need = stat.S_IROTH | (stat.S_IXOTH if is_dir else 0)
            if st.st_mode & need != need:
                found.append((entry.path, is_dir))
            elif is_dir:
                stack.append(entry.path)
    return tuple(sorted(found))

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

READ_ONLY_PROC = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs", "/proc/acpi",
                  "/proc/scsi", "/proc/driver")
MASKED_PROC = ("/proc/kcore", "/proc/keys", "/proc/key-users", "/proc/timer_list", "/proc/sched_debug",
               "/proc/latency_stats", "/proc/kallsyms", "/proc/kmsg", "/proc/sysvipc")
ROOT_ONLY_TREES = ("/etc",)


def proc_args() -> list[str]:
    """To follow `--proc /proc`: kernel knobs read-only, kernel-state files masked."""
    args: list[str] = []
    for path in READ_ONLY_PROC:
        args += ["--ro-bind-try", path, path]
    for path in MASKED_PROC:
        if os.path.isdir(path):
            args += ["--tmpfs", path, "--remount-ro", path]
        elif os.path.exists(path):
            args += ["--ro-bind", "/dev/null", path]
    return args


def root_only_masks(bound: list[str], *, euid: int | None = None) -> list[str]:
    """To follow the system binds, as root only: owner-only files under `bound` hidden."""
    if (os.geteuid() if euid is None else euid) != 0:
        return []  # the kernel's own permission check already hides them
    args: list[str] = []
    for path, is_dir in _owner_only(tuple(top for top in ROOT_ONLY_TREES if any(
            top == b or top.startswith(b.rstrip("/") + "/") for b in bound))):
        args += ["--tmpfs", path, "--remount-ro", path] if is_dir else ["--ro-bind", "/dev/null", path]
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
            if stat.S_ISLNK(st.st_mode):
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            need = stat.S_IROTH | (stat.S_IXOTH if is_dir else 0)
            if st.st_mode & need != need:
                found.append((entry.path, is_dir))
            elif is_dir:
                stack.append(entry.path)
    return tuple(sorted(found))

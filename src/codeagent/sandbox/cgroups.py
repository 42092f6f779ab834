"""Per-command cgroups: a hard cap on processes (pids) and memory for one sandboxed
command, and a way to kill everything it started.

Why a cgroup: RLIMIT_NPROC does not bind uid 0 (the kernel exempts root), and tests and
CI run as root, so a fork bomb is only bounded by a pids cgroup there. We use cgroup v1
(`/sys/fs/cgroup/pids`, `/sys/fs/cgroup/memory`, as on this project's CI machines) or
cgroup v2 (a `codeagent` group under the unified root) when the hierarchy is writable;
otherwise `available()` is None and the bwrap backend falls back to rlimits (which do
bind an unprivileged user inside the sandbox's user namespace).

Each group has a `Spawner` living inside it that forks the group's commands, so
nothing a command forks escapes the count, and no command pays for a cgroup move
(see `spawner` for why that matters). The spawner's own process and memory are added
to the limits, so commands get exactly the profile's.
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from codeagent.errors import SandboxError
from codeagent.sandbox.spawner import Spawner

SPAWNER_MEMORY = 32 << 20  # the spawner's Python (about 12 MB resident) and its kernel memory
_counter = itertools.count()


@dataclass(frozen=True)
class Hierarchy:
    """Where new per-command groups are made, per controller."""

    version: int
    pids: Path  # parent dir for the pids group
    memory: Path  # parent dir for the memory group (same as pids on v2)


def _own_paths() -> dict[str, str]:
    """controller -> this process's cgroup path ("" key: the v2 path)."""
    found: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            found[name] = path
    return found


def _mounts() -> list[tuple[str, str, str, str]]:
    """(mount point, root, fstype, super options) of cgroup mounts."""
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fields, rfields = left.split(), right.split()
        if rfields and rfields[0] in ("cgroup", "cgroup2"):
            out.append((fields[4], fields[3], rfields[0], rfields[2] if len(rfields) > 2 else ""))
    return out


def _v1_parent(controller: str, own: dict[str, str], mounts) -> Path | None:
    for point, root, fstype, opts in mounts:
        if fstype == "cgroup" and controller in opts.split(","):
            path = own.get(controller, "/")
            rel = path[len(root):] if path.startswith(root) else ""
            parent = Path(point) / rel.lstrip("/")
            return parent if parent.is_dir() else Path(point)
    return None


def _writable_parent(parent: Path) -> bool:
    probe = parent / f"codeagent-probe-{os.getpid()}-{next(_counter)}"
    try:
        probe.mkdir()
        probe.rmdir()
        return True
    except OSError:
        return False


def _v2_parent(mounts) -> Path | None:
    for point, _root, fstype, _opts in mounts:
        if fstype != "cgroup2":
            continue
        top = Path(point)
        try:
            if not {"pids", "memory"} <= set((top / "cgroup.controllers").read_text().split()):
                return None
            (top / "cgroup.subtree_control").write_text("+pids +memory")
            base = top / "codeagent"
            base.mkdir(exist_ok=True)
            (base / "cgroup.subtree_control").write_text("+pids +memory")
        except OSError:
            return None
        return base
    return None


def _remove_stale(parent: Path) -> None:
    """Remove empty groups left by codeagent processes that were killed (SIGKILL)."""
    for folder in parent.glob("codeagent-*-*"):
        pid = folder.name.split("-")[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            try:
                folder.rmdir()
            except OSError:
                pass


@lru_cache(maxsize=1)
def available() -> Hierarchy | None:
    """The writable cgroup hierarchy with pids and memory controllers, or None."""
    try:
        own, mounts = _own_paths(), _mounts()
    except OSError:
        return None
    pids, memory = _v1_parent("pids", own, mounts), _v1_parent("memory", own, mounts)
    found = None
    if pids and memory and _writable_parent(pids) and _writable_parent(memory):
        found = Hierarchy(1, pids, memory)
    else:
        base = _v2_parent(mounts)
        if base and _writable_parent(base):
            found = Hierarchy(2, base, base)
    for parent in {found.pids, found.memory} if found else ():
        _remove_stale(parent)
    return found


class CommandGroup:
    """The cgroup(s) of one command at a time: limits set, a spawner inside, removed after."""

    def __init__(self, hierarchy: Hierarchy, *, pids_max: int, memory_bytes: int, file_size: int):
        self.hierarchy, self.file_size = hierarchy, file_size
        self.spawner: Spawner | None = None
        name = f"codeagent-{os.getpid()}-{next(_counter)}"
        self.dirs = [hierarchy.pids / name] if hierarchy.version == 2 else [hierarchy.pids / name, hierarchy.memory / name]
        try:
            for folder in self.dirs:
                folder.mkdir()
            self._set_limits(pids_max + 1, memory_bytes + SPAWNER_MEMORY)
            self.spawner = self._new_spawner()
        except OSError:
            self.remove()
            raise

    def _new_spawner(self) -> Spawner:
        return Spawner([str(folder / "cgroup.procs") for folder in self.dirs], file_size=self.file_size)

    def start(self, argv: list[str], cwd: str, env: dict[str, str], opens: list[tuple[int, str]] = ()):
        """Start a command inside the group (see `execute`); a spawner that died since
        the last command (killed for memory, say) is replaced once. `opens`: files
        opened read-only at the given fds in the command."""
        try:
            return self._start(argv, cwd, env, opens)
        except OSError as exc:
            raise SandboxError(f"cannot start {argv[0]} in cgroup {self.dirs[0]}: {exc}") from None

    def _start(self, argv: list[str], cwd: str, env: dict[str, str], opens: list[tuple[int, str]] = ()):
        try:
            return self.spawner.start(argv, cwd, env, opens)
        except OSError:
            if not self.spawner.dead:
                raise  # the spawner is fine; the command could not start
        self.spawner.close()
        self.spawner = self._new_spawner()
        return self.spawner.start(argv, cwd, env, opens)

    def _set_limits(self, pids_max: int, memory_bytes: int) -> None:
        if self.hierarchy.version == 2:
            (self.dirs[0] / "pids.max").write_text(str(pids_max))
            (self.dirs[0] / "memory.max").write_text(str(memory_bytes))
            if (self.dirs[0] / "memory.swap.max").exists():
                (self.dirs[0] / "memory.swap.max").write_text("0")
        else:
            (self.dirs[0] / "pids.max").write_text(str(pids_max))
            (self.dirs[1] / "memory.limit_in_bytes").write_text(str(memory_bytes))
            if (self.dirs[1] / "memory.memsw.limit_in_bytes").exists():  # swap accounting on: no swapping past it
                (self.dirs[1] / "memory.memsw.limit_in_bytes").write_text(str(memory_bytes))

    def _events(self, folder: Path, filename: str) -> dict[str, int]:
        try:
            pairs = (line.split() for line in (folder / filename).read_text().splitlines())
            return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].isdigit()}
        except OSError:
            return {}

    def counters(self) -> tuple[int, int]:
        """(times fork hit pids.max, OOM kills) so far; a reused group is judged by the change."""
        pids = self._events(self.dirs[0], "pids.events").get("max", 0)
        if self.hierarchy.version == 2:
            events = self._events(self.dirs[0], "memory.events")
            return pids, max(events.get("oom_kill", 0), events.get("oom", 0))
        return pids, self._events(self.dirs[1], "memory.oom_control").get("oom_kill", 0)

    def kill_all(self) -> None:
        """SIGKILL every process still in the group but its live spawner."""
        keep = self.spawner.pid if self.spawner and self.spawner.alive() else None
        for folder in self.dirs:
            if keep is None and self.hierarchy.version == 2 and (folder / "cgroup.kill").exists():
                try:
                    (folder / "cgroup.kill").write_text("1")
                    continue
                except OSError:
                    pass
            try:
                pids = (folder / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in pids:
                if int(pid) == keep:
                    continue
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def remove(self) -> None:
        if self.spawner is not None:
            self.spawner.close()
        for folder in self.dirs:
            for attempt in range(50):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # still emptying: processes being reaped
                    if attempt == 0:
                        self.kill_all()
                    time.sleep(0.01)


class GroupPool:
    """Idle per-command groups of one sandbox, reused: removing a v1 memory group costs
    ~10 ms, so groups are made on demand and removed only by `close()` (or at exit)."""

    def __init__(self, hierarchy: Hierarchy, *, pids_max: int, memory_bytes: int, file_size: int):
        self.limits = dict(pids_max=pids_max, memory_bytes=memory_bytes, file_size=file_size)
        self.hierarchy = hierarchy
        self._idle: list[CommandGroup] = []
        self._lock = threading.Lock()

    def take(self) -> CommandGroup:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return CommandGroup(self.hierarchy, **self.limits)

    def give_back(self, group: CommandGroup) -> None:
        group.kill_all()
        with self._lock:
            self._idle.append(group)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for group in idle:
            group.remove()

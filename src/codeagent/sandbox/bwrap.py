"""The bubblewrap backend, the default on Linux: each command runs in fresh user, pid,
ipc, uts and (unless the profile shares it) network namespaces, with the system
read-only, the workspace and scratch dir the only writable trees, the workspace's git
metadata read-only, a private /tmp, a fresh HOME, no capabilities, stdin closed, and
an environment built from the profile's allowlist.

Limits per command (see `cgroups` for why): processes and memory through a cgroup when
one is writable, else RLIMIT_NPROC (applied inside the user namespace, via prlimit)
and RLIMIT_AS; file size through RLIMIT_FSIZE; wall clock through a deadline that kills
bwrap, whose `--die-with-parent` and PID namespace take the whole tree down with it.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import weakref
from pathlib import Path

from codeagent.errors import SandboxError
from codeagent.sandbox import cgroups, seccomp
from codeagent.sandbox.base import CommandResult
from codeagent.sandbox.execute import Execution, execute
from codeagent.sandbox.mounts import SANDBOX_HOME, plan_mounts
from codeagent.sandbox.probe import require_bwrap
from codeagent.sandbox.process import check_cwd, command_argv, kill_group, profile_env
from codeagent.sandbox.profiles import Profile, load_profile

MIB = 1 << 20
XFSZ_EXIT = 128 + 25  # a shell's status when its child died of SIGXFSZ
MEMORY_SIGNS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory", "Out of memory")
FSIZE_SIGNS = ("File too large", "File size limit exceeded")
FORK_SIGNS = ("fork: Resource temporarily unavailable", "Cannot fork", "can't fork", "fork failed",
              "BlockingIOError: [Errno 11]")


class BwrapSandbox:
    name = "bwrap"

    def __init__(self, root: Path, *, allow_network: bool = False, timeout: float = 300.0,
                 scratch: Path | None = None, profile: Profile | None = None, checkout: Path | None = None,
                 **_: object):
        status = require_bwrap()
        self.bwrap = status.path
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise SandboxError(f"workspace {self.root} is not a directory")
        self.profile = profile or load_profile("network" if allow_network else "default")
        if allow_network and not self.profile.network:
            self.profile = self.profile.model_copy(update={"network": True})
        self.timeout = timeout
        self.scratch = Path(scratch or tempfile.mkdtemp(prefix="codeagent-scratch-")).resolve()
        self.scratch.mkdir(parents=True, exist_ok=True)
        limits = self.profile.limits
        self.cgroup = cgroups.available() if limits.use_cgroup else None
        self._groups = cgroups.GroupPool(self.cgroup, pids_max=limits.processes, memory_bytes=limits.memory_mb * MIB,
                                         file_size=limits.file_size_mb * MIB) if self.cgroup else None
        if self._groups is not None:
            weakref.finalize(self, self._groups.close)
        self.prlimit = None if self.cgroup else shutil.which("prlimit")
        self.warning = self._limit_warning()
        self._seccomp = seccomp.program_file() if self.profile.seccomp else None
        self._namespace_args = self._namespaces(status.version or (0,))
        self._private = Path(tempfile.mkdtemp(prefix="codeagent-sandbox-"))  # sanitised git config copies
        weakref.finalize(self, shutil.rmtree, self._private, True)
        self._mounts = plan_mounts(self.profile, self.root, self.scratch, checkout,  # (bwrap args, PATH inside)
                                   private=self._private)

    def _limit_warning(self) -> str | None:
        if self.cgroup or (os.geteuid() != 0 and self.prlimit):
            return None
        why = "running as root" if os.geteuid() == 0 else "prlimit is missing"
        return (f"sandbox 'bwrap': no process-count limit ({why} and no writable cgroup); "
                "a fork bomb is bounded only by the timeout")

    def _namespaces(self, version: tuple[int, ...]) -> list[str]:
        args = ["--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                "--hostname", "codeagent-sandbox", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        if version >= (0, 8):
            args.append("--disable-userns")  # no nested namespaces to regain capabilities in
        if not self.profile.network:
            args.append("--unshare-net")
        if self._seccomp is not None:
            args += ["--seccomp", str(seccomp.FD)]  # opened fresh for each command: see run
        return args

    def argv(self, command, cwd: Path) -> tuple[list[str], str, list[str]]:
        """(full bwrap argv, display text, PATH entries) for `command` run in `cwd`."""
        inner, text = command_argv(command)
        mounts, path_entries = self._mounts
        if self.prlimit:
            inner = [self.prlimit, f"--nproc={self.profile.limits.processes}", "--", *inner]
        full = [self.bwrap, *self._namespace_args, *mounts, "--chdir", str(cwd), "--", *inner]
        return full, text, path_entries

    def environment(self, extra: dict[str, str] | None, path_entries: list[str]) -> dict[str, str]:
        env = profile_env(self.profile, extra)
        if not (extra and "PATH" in extra):
            env["PATH"] = os.pathsep.join(path_entries) or env["PATH"]
        env.update(HOME=SANDBOX_HOME, TMPDIR="/tmp", USER=env.get("USER", "sandbox"))
        return env

    def run(self, command, *, cwd=None, timeout=None, env=None) -> CommandResult:
        where = check_cwd(cwd, [self.root, self.scratch])
        argv, text, path_entries = self.argv(command, where)
        group = self._take_group()
        before = group.counters() if group else (0, 0)

        def kill(proc: subprocess.Popen) -> None:
            kill_group(proc)  # bwrap dies; --die-with-parent and the pid namespace take the rest
            if group is not None:
                group.kill_all()

        opens = [(seccomp.FD, str(self._seccomp))] if self._seccomp is not None else []
        try:
            done = execute(argv if group else self._launcher() + argv, cwd=str(where),
                           env=self.environment(env, path_entries), timeout=timeout or self.timeout,
                           output_cap=self.profile.limits.output_bytes, kill=kill,
                           start=(lambda a, c, e: group.start(a, c, e, opens)) if group else None)
            after = group.counters() if group else (0, 0)
            return self._result(text, done, (after[0] > before[0], after[1] > before[1]) if group else None)
        finally:
            if group is not None:
                self._groups.give_back(group)

    def close(self) -> None:
        """Remove this sandbox's cgroups now (otherwise done at exit)."""
        if self._groups is not None:
            self._groups.close()

    def _launcher(self) -> list[str]:
        """Without a cgroup: a /bin/sh prefix that sets the rlimits, then execs bwrap.

        A shell costs about a millisecond; a Python preexec_fn forks the whole agent
        process and costs far more. `ulimit -f` counts 512-byte blocks in every POSIX
        shell; `-v` counts KiB in dash, bash and busybox. (With a cgroup, the group's
        spawner sets the same core and file-size limits.)
        """
        limits = self.profile.limits
        blocks = limits.file_size_mb * MIB // 512
        program = f" {seccomp.FD}<{shlex.quote(str(self._seccomp))}" if self._seccomp is not None else ""
        return ["/bin/sh", "-c", f'ulimit -c 0 && ulimit -f {blocks} && ulimit -v {limits.memory_mb * 1024} && '
                f'exec "$@"{program}', "codeagent-sandbox"]

    def _take_group(self) -> cgroups.CommandGroup | None:
        if self._groups is None:
            return None
        try:
            return self._groups.take()
        except OSError as exc:
            raise SandboxError(f"cannot create the command's cgroup under {self.cgroup.pids}: {exc}") from None

    def _result(self, text: str, done: Execution, cgroup_hits: tuple[bool, bool] | None) -> CommandResult:
        """The CommandResult, with every limit hit named; `cgroup_hits` is (processes, memory)."""
        limits = self.profile.limits
        hit: list[str] = ["timeout"] if done.timed_out else []
        notes: list[str] = []
        pids_hit, memory_hit = cgroup_hits or (any(s in done.output for s in FORK_SIGNS),
                                               any(s in done.output for s in MEMORY_SIGNS))
        if memory_hit:
            hit.append("memory")
            notes.append(f"memory limit of {limits.memory_mb} MiB reached: an allocation failed or the process was killed")
        if pids_hit:
            hit.append("processes")
            notes.append(f"process limit of {limits.processes} reached: fork() failed")
        if done.returncode in (XFSZ_EXIT, -25) or any(sign in done.output for sign in FSIZE_SIGNS):
            hit.append("file_size")
            notes.append(f"file size limit of {limits.file_size_mb} MiB reached: the write failed")
        if done.dropped:
            hit.append("output")
        output = done.output
        if notes:
            output = output.rstrip("\n") + "\n" + "\n".join(f"[sandbox: {note}]" for note in notes) + "\n"
        return CommandResult(command=text, exit_code=done.returncode, output=output, duration=done.duration,
                             timed_out=done.timed_out, limits_hit=hit, dropped_bytes=done.dropped)

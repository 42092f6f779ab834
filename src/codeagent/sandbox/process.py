"""The explicit unsandboxed backend (`--sandbox none`): a plain subprocess in its
own process group, with a timeout that kills the whole group, an output cap and an
environment built from an allowlist. It isolates nothing else; the user chose it by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Sequence

from codeagent.errors import SandboxError
from codeagent.sandbox.base import CommandResult
from codeagent.sandbox.execute import CappedBuffer, execute
from codeagent.sandbox.profiles import Profile, is_secret_name

ENV_ALLOWLIST = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TZ", "PYTHONPATH", "VIRTUAL_ENV")
DEFAULT_OUTPUT_CAP = 200_000


def build_env(extra: dict[str, str] | None = None, allow: Sequence[str] = ENV_ALLOWLIST) -> dict[str, str]:
    """The environment a sandboxed command sees: only allowlisted names, never secrets."""
    env = {k: os.environ[k] for k in allow if k in os.environ and not is_secret_name(k)}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update({k: v for k, v in (extra or {}).items() if not is_secret_name(k)})
    return env


def profile_env(profile: Profile, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's variables the profile allows, then the profile's own, then `extra`."""
    env = {k: v for k, v in os.environ.items() if profile.env_allowed(k)}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env.update(profile.env.set)
    env.update({k: v for k, v in (extra or {}).items() if not is_secret_name(k)})
    return env


def cap_output(data: bytes, cap: int) -> tuple[str, int]:
    """Keep the head and tail of `data` within `cap` bytes; return text and bytes dropped."""
    buffer = CappedBuffer(cap)
    buffer.add(data)
    return buffer.text(), buffer.dropped


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def command_argv(command: str | Sequence[str]) -> tuple[list[str], str]:
    """A shell string runs under /bin/sh -c; a list runs as is. Returns (argv, display text)."""
    if isinstance(command, str):
        return ["/bin/sh", "-c", command], command
    argv = [str(part) for part in command]
    if not argv:
        raise SandboxError("empty command")
    return argv, " ".join(argv)


def check_cwd(cwd: Path | None, allowed: Sequence[Path]) -> Path:
    """`cwd` resolved, which must lie inside one of `allowed` (the first is the default)."""
    where = Path(cwd).resolve() if cwd else allowed[0]
    if not any(where == top or where.is_relative_to(top) for top in allowed):
        raise SandboxError(f"cwd {where} is outside the workspace {allowed[0]}")
    return where


class ProcessSandbox:
    name = "none"
    warning = "sandbox 'none': commands run unsandboxed, with your user's full access"

    def __init__(self, root: Path, *, timeout: float = 300.0, output_cap: int = DEFAULT_OUTPUT_CAP,
                 scratch: Path | None = None, profile: Profile | None = None, **_: object):
        self.root = Path(root).resolve()
        self.timeout = timeout
        self.profile = profile
        self.output_cap = profile.limits.output_bytes if profile else output_cap
        self.scratch = Path(scratch or tempfile.mkdtemp(prefix="codeagent-scratch-")).resolve()

    def close(self) -> None:
        """Nothing is held between commands."""

    def run(self, command, *, cwd=None, timeout=None, env=None) -> CommandResult:
        argv, text = command_argv(command)
        where = check_cwd(cwd, [self.root, self.scratch])
        environ = profile_env(self.profile, env) if self.profile else build_env(env)
        if "HOME" in os.environ:  # unsandboxed: the user's own home, as they chose
            environ.setdefault("HOME", os.environ["HOME"])
        done = execute(argv, cwd=str(where), env=environ, timeout=timeout or self.timeout,
                       output_cap=self.output_cap, kill=kill_group)
        limits = (["timeout"] if done.timed_out else []) + (["output"] if done.dropped else [])
        return CommandResult(
            command=text,
            exit_code=done.returncode,
            output=done.output,
            duration=done.duration,
            timed_out=done.timed_out,
            limits_hit=limits,
            dropped_bytes=done.dropped,
        )

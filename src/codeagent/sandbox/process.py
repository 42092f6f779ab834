"""The explicit unsandboxed backend (`--sandbox none`): a plain subprocess in its
own process group, with a timeout that kills the whole group, an output cap and an
environment built from an allowlist. It isolates nothing else; the user chose it by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Sequence

from codeagent.sandbox.base import CommandResult

ENV_ALLOWLIST = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TERM", "TZ", "PYTHONPATH", "VIRTUAL_ENV")
DEFAULT_OUTPUT_CAP = 200_000


def build_env(extra: dict[str, str] | None = None, allow: Sequence[str] = ENV_ALLOWLIST) -> dict[str, str]:
    """The environment a sandboxed command sees: only allowlisted names, never secrets."""
    env = {k: os.environ[k] for k in allow if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra or {})
    return env


def cap_output(data: bytes, cap: int) -> tuple[str, int]:
    """Keep the head and tail of `data` within `cap` bytes; return text and bytes dropped."""
    if len(data) <= cap:
        return data.decode("utf-8", "replace"), 0
    half = cap // 2
    dropped = len(data) - 2 * half
    text = data[:half].decode("utf-8", "replace") + f"\n[... {dropped} bytes dropped ...]\n"
    return text + data[-half:].decode("utf-8", "replace"), dropped


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class ProcessSandbox:
    name = "none"
    warning = "sandbox 'none': commands run unsandboxed, with your user's full access"

    def __init__(self, root: Path, *, timeout: float = 300.0, output_cap: int = DEFAULT_OUTPUT_CAP,
                 scratch: Path | None = None, **_: object):
        self.root = Path(root).resolve()
        self.timeout = timeout
        self.output_cap = output_cap
        self.scratch = Path(scratch or tempfile.mkdtemp(prefix="codeagent-scratch-"))

    def run(self, command, *, cwd=None, timeout=None, env=None) -> CommandResult:
        argv = ["/bin/sh", "-c", command] if isinstance(command, str) else list(command)
        text = command if isinstance(command, str) else " ".join(command)
        limit = timeout or self.timeout
        start = time.monotonic()
        proc = subprocess.Popen(
            argv,
            cwd=cwd or self.root,
            env=build_env(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        timed_out = False
        try:
            data, _ = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_group(proc)
            data, _ = proc.communicate()
        finally:
            kill_group(proc)  # nothing the command started outlives it
        output, dropped = cap_output(data or b"", self.output_cap)
        limits = (["timeout"] if timed_out else []) + (["output"] if dropped else [])
        return CommandResult(
            command=text,
            exit_code=None if timed_out else proc.returncode,
            output=output,
            duration=time.monotonic() - start,
            timed_out=timed_out,
            limits_hit=limits,
            dropped_bytes=dropped,
        )

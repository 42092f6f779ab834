"""What the loop knows about running commands: the `Sandbox` protocol.

A limit hit (timeout, memory, output, processes, file size) is reported in the
`CommandResult`, never raised: the model reads what happened. Only a sandbox
that cannot run anything at all raises `SandboxError`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable


@dataclass
class CommandResult:
    command: str
    exit_code: int | None  # None when killed before it exited
    output: str  # stdout and stderr interleaved, capped (head + tail kept)
    duration: float = 0.0
    timed_out: bool = False
    limits_hit: list[str] = field(default_factory=list)  # "timeout", "memory", "output", ...
    dropped_bytes: int = 0
    kind: str = "command_result"

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """The observation text the model reads."""
        lines = []
        if self.timed_out:
            lines.append(f"[command timed out after {self.duration:.1f}s and was killed]")
        for limit in self.limits_hit:
            if limit != "timeout":
                lines.append(f"[limit hit: {limit}]")
        if self.dropped_bytes:
            lines.append(f"[output capped: {self.dropped_bytes} bytes dropped from the middle]")
        lines.append(f"[exit code: {self.exit_code}]")
        return self.output.rstrip("\n") + "\n" + "\n".join(lines)


@runtime_checkable
class Sandbox(Protocol):
    """Runs shell commands with `root` (the workspace) as the only writable tree.

    `scratch` is a host directory outside the workspace, writable inside the sandbox
    at the same path: tools put artifacts there (JUnit XML, saved long outputs) so
    they never show up in the workspace's diff.
    """

    name: str
    root: Path
    scratch: Path
    warning: str | None  # said on every run when the backend isolates nothing

    def run(
        self,
        command: str | Sequence[str],
        *,
        cwd: Path | None = None,
        timeout: float | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult: ...

    def close(self) -> None:
        """Release what the sandbox holds between commands (cgroups, their spawners)."""
        ...

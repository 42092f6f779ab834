"""What every batch engine gets: a list of `Job`s and a picklable `run_one`.

An engine runs each job in isolation (its own process), at most `workers` at a time,
kills a job at its wall-clock `timeout`, turns a dead or killed worker into a
`crashed` / `timeout` record, and reports each record through `on_result` as soon as
it exists. Engines are picked by name in `codeagent.registry.BATCH_ENGINES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from codeagent.batch.tasks import BatchTask

OnResult = Callable[["Job", dict[str, Any]], None]
OnStart = Callable[["Job"], None]


@dataclass(frozen=True)
class Job:
    task: BatchTask
    attempt: int
    attempt_dir: Path
    timeout: float  # wall-clock seconds before the attempt is killed

    @property
    def key(self) -> tuple[str, int]:
        return (self.task.id, self.attempt)


class Engine(Protocol):
    name: str
    workers: int

    def run(self, jobs: list[Job], run_one: Callable[..., dict[str, Any]], on_result: OnResult,
            on_start: OnStart | None = None) -> None: ...

    def close(self) -> None: ...


def describe_exit(exitcode: int | None) -> str:
    """A dead process's exit, as a reason suffix: exit:3, signal:SIGKILL."""
    import signal

    if exitcode is None:
        return "unknown"
    if exitcode < 0:
        try:
            return f"signal:{signal.Signals(-exitcode).name}"
        except ValueError:
            return f"signal:{-exitcode}"
    return f"exit:{exitcode}"

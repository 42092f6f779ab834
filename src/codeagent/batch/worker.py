"""One task attempt, run inside a worker process (a local child or a Ray worker).

`execute(run_one, task, attempt, attempt_dir)` is what every engine calls in the
worker: it turns any exception into a `crashed` record, so an engine only has to deal
with processes that die or overrun. `TaskRunner` is the production `run_one`: it makes
the attempt its own workspace (a clone or copy of the task's repo), loads the layered
config with the task's budgets, and calls `codeagent.runner.run_task` with
apply="none", so the result's diff is the only output and no user tree is touched.

Attempt folder (`DIR/attempts/<task id>/<attempt>/`):
    workspace/   the clone the agent works in (removed afterwards unless kept)
    sessions/    the run's session log
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from codeagent.batch.results import base_record, exception_record
from codeagent.batch.tasks import BatchTask
from codeagent.errors import CodeAgentError, ConfigError

RunOne = Callable[[BatchTask, int, Path], dict[str, Any]]

GIT_IDENTITY = ["-c", "user.name=codeagent batch", "-c", "user.email=batch@codeagent.local",
                "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"]


def execute(run_one: RunOne, task: BatchTask, attempt: int, attempt_dir: Path) -> dict[str, Any]:
    """Run one attempt; never raises (an exception becomes a `crashed` record)."""
    started = time.monotonic()
    started_at = time.time()
    cpu_before = cpu_seconds()
    try:
        Path(attempt_dir).mkdir(parents=True, exist_ok=True)
        record = run_one(task, attempt, Path(attempt_dir))
    except BaseException as exc:  # noqa: BLE001 - the point is to record anything
        if isinstance(exc, KeyboardInterrupt):
            raise
        record = exception_record(task, attempt, exc, started)
    if not record.get("started_at"):
        record["started_at"] = started_at
    if not record.get("finished_at"):
        record["finished_at"] = time.time()
    if not record.get("wall_time"):
        record["wall_time"] = round(time.monotonic() - started, 3)
    record["cpu_time"] = round(cpu_seconds() - cpu_before, 3)
    return record


def cpu_seconds() -> float:
    """User + system CPU of this process and the children it has waited for (git,
    unsandboxed commands). Commands inside bubblewrap are not counted: their CPU is
    not reported back through the sandbox's process tree."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def attempt_dir_for(out_dir: Path, task_id: str, attempt: int) -> Path:
    return Path(out_dir) / "attempts" / task_id / str(attempt)


def _git(args: list[str], cwd: Path | None = None, timeout: float = 600) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    proc = subprocess.run(["git", *GIT_IDENTITY, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)
    if proc.returncode != 0:
        raise ConfigError(f"git {args[0]} failed: {proc.stderr.strip()[-500:]}")
    return proc.stdout


def prepare_workspace(task: BatchTask, dest: Path) -> Path:
    """Give the attempt its own git repo at `dest`: clone a git repo or URL at
    `commit` (default HEAD), or copy a plain folder and commit it as one snapshot."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if task.is_remote:
        _git(["clone", "--quiet", task.repo, str(dest)])
    else:
        source = Path(task.repo)
        if not source.is_dir():
            raise ConfigError(f"task {task.id}: repo {source} is not a folder")
        if (source / ".git").exists():
            _git(["clone", "--quiet", "--no-hardlinks", str(source), str(dest)])
        else:
            shutil.copytree(source, dest, symlinks=True,
                            ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
            _git(["init", "--quiet"], cwd=dest)
            _git(["add", "-A"], cwd=dest)
            _git(["commit", "--quiet", "--allow-empty", "-m", f"batch task {task.id}"], cwd=dest)
    if task.commit:
        _git(["checkout", "--quiet", "--detach", _resolve(dest, task.commit)], cwd=dest)
    return dest


def _resolve(repo: Path, commit: str) -> str:
    """A commit, tag or branch of the source; a branch other than the default one
    exists in the clone only as origin/<name>."""
    for candidate in (commit, f"origin/{commit}"):
        proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}"], cwd=repo,
                              capture_output=True, text=True)
        if proc.returncode == 0:
            return proc.stdout.strip()
    raise ConfigError(f"commit {commit!r} is not in {repo.name}'s source repo")


@dataclass
class TaskRunner:
    """The production `run_one`: picklable, so every engine can ship it to workers.

    `flags` are the batch command's model flags (model, base_url, ...); each task's
    budgets and test_cmd are laid over them, above the repo config and environment.
    """

    flags: dict[str, Any] = field(default_factory=dict)
    keep_workspace: bool = False
    # set by an engine that prepares attempts ahead: blocks until this attempt may call
    # the model; the time spent waiting is not the attempt's
    ready: Callable[[], None] | None = None

    def __call__(self, task: BatchTask, attempt: int, attempt_dir: Path) -> dict[str, Any]:
        from codeagent.config import load_settings
        from codeagent.runner import RunRequest, run_task

        started = time.monotonic()
        record = base_record(task, attempt)
        record["started_at"] = time.time()
        workspace = attempt_dir / "workspace"
        waited = 0.0

        def on_ready() -> None:
            nonlocal waited
            before = time.monotonic()
            self.ready()
            waited = time.monotonic() - before
        try:
            prepare_workspace(task, workspace)
            flags = {**self.flags, **task.budgets()}
            if task.test_cmd:
                flags["test_cmd"] = task.test_cmd
            settings = load_settings(workspace, flags=flags).settings
            model = scripted_model(task, attempt) if task.scripted else None
            result = run_task(RunRequest(repo=workspace, instruction=task.instruction, settings=settings,
                                         model=model, apply="none", session_root=attempt_dir / "sessions",
                                         on_ready=on_ready if self.ready else None))
            fill_from_result(record, result)
        except CodeAgentError as exc:
            record.update(status="error", reason=fault_reason(exc), exit_code=exc.exit_code, error=str(exc))
        finally:
            if not self.keep_workspace:
                shutil.rmtree(workspace, ignore_errors=True)
        record["wall_time"] = round(time.monotonic() - started - waited, 3)
        record["started_at"] += waited
        record["finished_at"] = time.time()
        return record


def fault_reason(exc: CodeAgentError) -> str:
    """error:<snake_case fault name>, e.g. error:model_unavailable."""
    name = type(exc).__name__.removesuffix("Error") or "fault"
    snake = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    return f"error:{snake}"


def fill_from_result(record: dict[str, Any], result: Any) -> None:
    """Copy a RunResult into a batch record."""
    usage = result.usage
    record.update(
        status=result.status,
        exit_code=result.exit_code,
        success=result.status == "done" and result.exit_code == 0,
        reason=result.reason,
        summary=result.summary,
        diff=result.diff,
        tests_before=result.tests_before,
        tests_after=result.tests_after,
        steps=result.steps,
        tokens={"prompt": usage.prompt_tokens, "completion": usage.completion_tokens,
                "cached": usage.cached_tokens, "total": usage.total_tokens},
        cost=round(usage.cost, 6),
        session_dir=str(result.session_dir) if result.session_dir else None,
    )


def scripted_model(task: BatchTask, attempt: int) -> Any:
    """The ScriptedModel a bundled-suite task names, built here in the worker."""
    from codeagent.batch.suites import load_script
    from codeagent.models.scripted import ScriptedModel

    return ScriptedModel(load_script(task.scripted or "", attempt), name=f"scripted:{task.scripted}")

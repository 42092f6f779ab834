"""One run of the agent, from instruction to outcome: the entry point every front
door (`codeagent run`, the pre-commit helper, batch jobs) calls.

    run_task(RunRequest) -> RunResult

It raises only usage and availability faults found before the run starts
(ConfigError, ModelUnavailableError, SandboxUnavailableError); everything that
happens during the run ends up in the RunResult and the session log.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from codeagent.config import Settings
from codeagent.events import EventBus
from codeagent.models.base import Model, Usage
from codeagent import errors
from codeagent.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_MODEL, EXIT_NOT_DONE, EXIT_OK

if TYPE_CHECKING:
    from codeagent.workspace import Workspace


@dataclass
class RunRequest:
    repo: Path
    instruction: str
    settings: Settings
    model: Model | None = None  # None: opened from settings
    apply: str = "worktree"  # worktree | commit | branch | patch | none
    branch: str | None = None
    patch_path: Path | None = None
    plan_only: bool = False
    snapshot: str = "all"  # all: HEAD + staged + unstaged + untracked; index: HEAD + staged only
    session_root: Path | None = None
    bus: EventBus | None = None
    confirm: Callable[[str, str], bool] | None = None  # asked with (diff summary, diff) before apply-back
    resume_session: str | None = None
    keep_workspace: bool = False  # leave the worktree for the caller (best-of-n applies the winner)
    # called once when everything up to the first model call is ready (workspace, sandbox,
    # prompt; baseline tests started); a batch engine holds a prepared attempt here
    # until a model slot is free
    on_ready: Callable[[], None] | None = None
    # the checkout whose ignored environments (virtualenv, node_modules) the sandbox
    # shows; None: `repo` itself (the pre-commit helper's scratch repo names the user's)
    env_checkout: Path | None = None


@dataclass
class RunResult:
    status: str  # done | not_done | planned | interrupted | error
    reason: str  # tests_pass | budget:steps | budget:tokens | budget:cost | budget:time | stuck | model_error | ...
    summary: str = ""
    diff: str = ""
    plan: list[dict[str, Any]] = field(default_factory=list)
    tests_before: dict[str, Any] | None = None
    tests_after: dict[str, Any] | None = None
    usage: Usage = field(default_factory=Usage)
    steps: int = 0
    wall_time: float = 0.0
    session_id: str | None = None
    session_dir: Path | None = None
    patch_path: Path | None = None
    applied: bool = False
    regressions: list[str] = field(default_factory=list)
    run_id: str | None = None  # the workspace's id (Workspace.reopen)
    attempts: list[dict[str, Any]] = field(default_factory=list)  # best-of-n: every attempt, and why this one
    failing: list[str] = field(default_factory=list)  # tests the task concerns that still fail (or regressed)
    unrelated_failing: list[str] = field(default_factory=list)  # still failing, not the task's concern
    kind: str = "run_result"

    @property
    def exit_code(self) -> int:
        return exit_code_for(self.status, self.reason)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["exit_code"] = self.exit_code
        data["session_dir"] = str(self.session_dir) if self.session_dir else None
        data["patch_path"] = str(self.patch_path) if self.patch_path else None
        return data


def exit_code_for(status: str, reason: str) -> int:
    """The one map from a run's outcome to its documented exit code (README, "Exit codes")."""
    if status == "interrupted":
        return EXIT_INTERRUPTED
    if reason == "model_error":
        return EXIT_MODEL
    if status == "error":  # error:<Fault>: the fault's own code; anything else is a bug of ours
        fault = getattr(errors, reason.partition(":")[2], None)
        return fault.exit_code if isinstance(fault, type) and issubclass(fault, errors.CodeAgentError) \
            else EXIT_INTERNAL
    if reason in ("apply_conflict", "not_applied_by_user"):
        return EXIT_NOT_DONE
    return EXIT_OK if status in ("done", "planned") else EXIT_NOT_DONE


def apply_result(req: RunRequest, ws: "Workspace", result: RunResult, bus: EventBus) -> None:
    """Apply a done run's diff back as the request asks (after asking, when it asks);
    a conflict or a refusal is recorded in the result's reason, never raised."""
    if req.confirm is not None and not req.confirm(ws.diff_stat(), result.diff):
        result.reason = "not_applied_by_user"
        return
    applied = ws.apply_back(req.apply, branch=req.branch, patch_path=req.patch_path,
                            message=f"codeagent: {req.instruction[:60]}")
    result.applied = applied.applied
    if applied.patch_path:
        result.patch_path = Path(applied.patch_path)
    if applied.conflict:
        result.reason = "apply_conflict"
        bus.emit("warning", message=f"not applied: {applied.conflict}; patch saved to {result.patch_path}")


def run_task(request: RunRequest) -> RunResult:
    """Carry out one instruction in an isolated workspace and return what happened."""
    from codeagent.run_session import RunSession

    if request.settings.attempts > 1 and not request.plan_only and not request.resume_session:
        from codeagent.best_of import run_best_of

        return run_best_of(request, request.settings.attempts)
    session = RunSession.start(request)
    return session.execute()

"""`fix` mode: the agent repairs the staged snapshot, and the repair is verified.

The agent runs through `run_task` (the same loop as `codeagent run`) on the private
scratch repo, whose HEAD and index are the user's HEAD and staged snapshot, with
`apply="none"`: it never sees or touches the user's repo. Its diff is applied to the
scratch work tree and every check runs again there; only a diff that makes them all
pass is handed back for staging.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

from codeagent.config import Settings
from codeagent.errors import WorkspaceError
from codeagent.hooks.checks import CheckResult, Deadline
from codeagent.hooks.snapshot import GIT_LOCATION_VARS, ScratchRepo

MIN_FIX_SECONDS = 5.0


@dataclass
class FixAttempt:
    ok: bool
    reason: str  # verified | no_diff | does_not_apply | checks_fail | <runner reason>
    diff: str = ""
    summary: str = ""
    checks_after: list[CheckResult] = field(default_factory=list)
    session_id: str | None = None
    steps: int = 0
    kind: str = "fix_attempt"

    def to_dict(self) -> dict:
        return asdict(self)


def instruction_for(failures: list[CheckResult]) -> str:
    parts = [
        "The change staged for commit fails the project's pre-commit checks. Repair the "
        "staged code so every check below passes. Change as little as possible, keep the "
        "intent of the change, and do not delete, skip or weaken tests.",
    ]
    for check in failures:
        parts.append(f"\n## {check.name}: {check.summary}\ncommand: {check.command}")
        if check.failed:
            parts.append("failing: " + ", ".join(check.failed[:20]))
        if check.details:
            parts.append(check.details)
    return "\n".join(parts)


@contextmanager
def without_hook_git_env() -> Iterator[None]:
    """Hide the hook's GIT_INDEX_FILE & co. from the agent's git calls, which must
    act on the scratch repo only; restored afterwards for our own staging."""
    saved = {k: os.environ.pop(k) for k in GIT_LOCATION_VARS if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def repair(scratch: ScratchRepo, settings: Settings, model, failures: list[CheckResult],
           deadline: Deadline, recheck: Callable[[], list[CheckResult]], bus=None,
           reserve: float = 0.0) -> FixAttempt:
    """One repair attempt within what is left of the budget, keeping `reserve`
    seconds back for checking the repair."""
    from codeagent.runner import RunRequest, run_task

    left = deadline.remaining() - reserve
    if left < MIN_FIX_SECONDS:
        return FixAttempt(False, "budget", summary=f"only {left:.0f}s of the budget left; no time to repair")
    request = RunRequest(
        repo=scratch.path,
        instruction=instruction_for(failures),
        settings=settings.model_copy(update={"max_time": left}),
        model=model,
        apply="none",
        snapshot="index",
        bus=bus,
        env_checkout=scratch.snapshot.repo,
    )
    with without_hook_git_env():
        result = run_task(request)
    attempt = FixAttempt(False, result.reason, result.diff, result.summary,
                         session_id=result.session_id, steps=result.steps)
    if not result.diff.strip():
        attempt.reason = "no_diff" if result.status == "done" else result.reason
        return attempt
    try:
        scratch.reset_to_snapshot()
        scratch.apply(result.diff)
    except WorkspaceError as exc:
        attempt.reason = "does_not_apply"
        attempt.summary = str(exc)
        return attempt
    attempt.checks_after = recheck()
    attempt.ok = not any(c.blocking for c in attempt.checks_after)
    attempt.reason = "verified" if attempt.ok else "checks_fail"
    return attempt

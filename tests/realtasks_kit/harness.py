"""Run one real-project task end to end and judge it independently.

The run: the project copied into a fresh git repo with the task cut out, a local
OpenAI-compatible server answering through the task's ScriptedAgent, codeagent's
OpenAIModel, the real sandbox, `run_task` applying the result to the repo's work tree.

The judgement does not trust codeagent: the run's final diff is applied to a clean
clone of the task repo and the project's own tests are run there with plain pytest,
outside codeagent and outside the sandbox."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from openai_server import OpenAIServer
from realtasks_kit.agent import Policy, ScriptedAgent
from realtasks_kit.project import apply_diff, commit_repo, copy_project, failing_tests, git

SANDBOX_PROFILE = Path(__file__).resolve().parent.parent / "data" / "fast_tests.toml"


@dataclass
class Task:
    id: str
    project: str
    kind: str  # single | multi | bug | long | negative
    instruction: str
    prepare: Callable[[Path], Any]  # cuts the task out of the project copy; returns what the model knows
    policy: Callable[[Any], Policy]
    plan: list[dict[str, Any]]
    target: str  # a test (substring of its id) that fails before, and must pass after (fail, for a negative)
    expect: str = "done"  # done | not_done
    max_steps: int = 60
    blocked_by: str | None = None  # a known codeagent bug that keeps this task from passing


@dataclass
class TaskOutcome:
    task: Task
    status: str
    exit_code: int
    reason: str
    steps: int
    wall_time: float
    diff_lines: int
    failing_before: set[str]
    failing_after: set[str]
    agent_error: str | None
    moves: list[tuple[str, str]] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)

    @property
    def target_failed_before(self) -> bool:
        return any(self.task.target in t for t in self.failing_before)

    @property
    def target_fails_after(self) -> bool:
        return any(self.task.target in t for t in self.failing_after)

    @property
    def solved(self) -> bool:
        """Done by codeagent's word AND by the project's own tests, checked independently."""
        return (self.status == "done" and self.exit_code == 0 and self.diff_lines > 0
                and not self.failing_after and self.target_failed_before)

    @property
    def honest_refusal(self) -> bool:
        """For a negative task: codeagent did not claim success, and indeed the target still fails."""
        return self.status != "done" and self.exit_code == 1 and self.target_fails_after

    @property
    def passed(self) -> bool:
        return self.solved if self.task.expect == "done" else self.honest_refusal

    @property
    def false_success(self) -> bool:
        return self.status == "done" and bool(self.failing_after)


def build_repo(task: Task, where: Path) -> tuple[Path, Any]:
    root = copy_project(task.project, where / "repo")
    knowledge = task.prepare(root)
    commit_repo(root)
    return root, knowledge


def run_one(task: Task, where: Path, *, sandbox: str = "bwrap", verbose: bool = False) -> TaskOutcome:
    from codeagent.config import load_settings
    from codeagent.models.openai_compat import OpenAIModel
    from codeagent.runner import RunRequest, run_task

    where.mkdir(parents=True, exist_ok=True)
    root, knowledge = build_repo(task, where)
    before = failing_tests(_clean_clone(root, where / "check-before"), where / "junit")
    agent = ScriptedAgent(task.policy(knowledge), task.plan)
    settings = load_settings(root, {"sandbox": sandbox, "max_steps": task.max_steps, "max_time": 1500.0,
                                    "sandbox_profile": str(SANDBOX_PROFILE), "repo_map_tokens": 1024}).settings
    started = time.monotonic()
    with OpenAIServer(responder=agent) as server:
        model = OpenAIModel("scripted-real-model", base_url=server.base_url, api_key="sk-realtasks",
                            max_retries=1, backoff_base=0.01, timeout=60.0)
        result = run_task(RunRequest(repo=root, instruction=task.instruction, settings=settings, model=model,
                                     apply="worktree", session_root=where / "sessions"))
    wall = time.monotonic() - started
    check = _clean_clone(root, where / "check-after")
    after = failing_tests(check, where / "junit") if apply_diff(check, result.diff) else {"<diff does not apply>"}
    diff_lines = sum(1 for ln in result.diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---"))
    return TaskOutcome(task, result.status, result.exit_code, result.reason, result.steps, round(wall, 1),
                       diff_lines, before, after, agent.error, agent.moves, agent.observations)


def _clean_clone(root: Path, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    git(root.parent, "clone", "-q", str(root), str(dest))
    return dest

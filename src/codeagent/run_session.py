"""Wires one run together: workspace, session log, sandbox, tests, context, planner,
loop, and the apply-back at the end. `runner.run_task` is its public face.

Every step of the loop saves a resumable state to the session folder, so a run that is
interrupted or killed can be continued with `codeagent resume`."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeagent.agent.budget import Budget
from codeagent.agent.loop import Agent, LoopCounters, LoopOutcome
from codeagent.agent.memory import Conversation, WorkingState
from codeagent.agent.concern import Concern
from codeagent.agent.outcome import Verdict, judge
from codeagent.agent.testgate import TestGate, TestOutcome
from codeagent.agent.tools import ToolBox
from codeagent.config import SECRET_KEYS
from codeagent.context import ContextEngine, count_tokens, load_project_instructions
from codeagent.edits import EditEngine
from codeagent.errors import ConfigError, DeadlineReached, ModelError, NotAGitRepoError
from codeagent.events import EventBus
from codeagent.gitutil import find_repo_root
from codeagent.models.base import Usage
from codeagent.planner import Planner
from codeagent.prompting import render
from codeagent.runner import RunRequest, RunResult, apply_result
from codeagent.sandbox import open_sandbox
from codeagent.session import SessionLog, load_session, run_ids_to_keep
from codeagent.testing import TestCommand, TestReport, TestRunner, detect_test_command
from codeagent.workspace import Workspace, cleanup_stale


_GIT_LOCK = threading.Lock()  # worktree add/remove in one repo from parallel attempts


class _Background:
    """`fn()` in a daemon thread (an interrupted run does not wait for it); `result()`
    joins and returns its value or raises its exception."""

    def __init__(self, fn):
        self._value, self._error = None, None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True)
        self._thread.start()

    def _run(self, fn) -> None:
        try:
            self._value = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self._error = exc

    def result(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


@dataclass
class ResumeState:
    """What a run saves after every step (state.json) and `codeagent resume` starts from."""

    run_id: str
    instruction: str
    apply: str = "worktree"
    branch: str | None = None
    patch_path: str | None = None
    conversation: dict[str, Any] = field(default_factory=dict)
    working: dict[str, Any] = field(default_factory=dict)
    counters: dict[str, Any] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)
    test_command: dict[str, Any] | None = None
    baseline: dict[str, Any] | None = None
    elapsed: float = 0.0
    kind: str = "resume_state"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ResumeState":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class RunSession:
    def __init__(self, request: RunRequest, model, bus: EventBus, repo: Path):
        self.request, self.model, self.bus, self.repo = request, model, bus, repo
        self.settings = request.settings
        self.started = time.monotonic()
        self.workspace: Workspace | None = None
        self.log: SessionLog | None = None
        self.resume_state: ResumeState | None = None
        self.gate = TestGate(None, None, [])
        self.concern = Concern.of("", repo)
        self.state = WorkingState(goal=request.instruction)
        self.counters = LoopCounters()

    @classmethod
    def start(cls, request: RunRequest) -> "RunSession":
        """Check what can be checked before anything is created (repo, model)."""
        repo = find_repo_root(Path(request.repo))
        if repo is None:
            raise NotAGitRepoError(
                f"{request.repo} is not inside a git repository",
                hint="codeagent works on git repos so your tree is never touched until the end: "
                     "run `git init && git add -A && git commit -m init` first",
            )
        bus = request.bus or EventBus()
        model = request.model
        if model is None:
            from codeagent.models import check_model, open_model

            def on_retry(attempt: int, delay: float, reason: str) -> None:
                bus.emit("warning", message=f"model call failed ({reason}); retry {attempt} in {delay:.1f}s")

            model = open_model(request.settings, on_retry=on_retry)
            check_model(model)  # an unreachable endpoint fails now (exit 3), before anything is created
        return cls(request, model, bus, repo)

    # -- setup ---------------------------------------------------------------------

    def _open(self) -> None:
        req, s = self.request, self.settings
        secrets = [getattr(s, k) for k in SECRET_KEYS if getattr(s, k)]
        if req.resume_session:
            record = load_session(req.resume_session, req.session_root)
            if not record.state or "run_id" not in record.state:
                raise ConfigError(f"session {req.resume_session} has no saved state to resume from")
            self.resume_state = ResumeState.from_dict(record.state)
            self.log = SessionLog.reopen(record.dir, secrets=secrets)
            self.workspace = Workspace.reopen(self.repo, self.resume_state.run_id)
        else:
            run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
            self.log = SessionLog.create(req.session_root, repo=self.repo, instruction=req.instruction,
                                         config=s.model_dump(), secrets=secrets)
            with _GIT_LOCK:
                cleanup_stale(self.repo, keep=run_ids_to_keep(self.repo, req.session_root))
                self.workspace = Workspace.open(self.repo, run_id=run_id, snapshot=req.snapshot)
        self.bus.subscribe(self.log.write)
        self.log.mark_status("running")

    def _sandbox(self):
        return open_sandbox(self.settings.sandbox, self.workspace.path, allow_network=self.settings.allow_network,
                            timeout=self.settings.command_timeout, scratch=self.log.dir / "scratch",
                            profile=self.settings.sandbox_profile, checkout=self.request.env_checkout)

    # -- the run -------------------------------------------------------------------

    def execute(self) -> RunResult:
        try:
            self._open()
            sandbox = self._sandbox()
        except BaseException:
            self._abandon()
            raise
        self.bus.emit("session_start", session_id=self.log.id, repo=str(self.repo),
                      instruction=self.request.instruction, model=getattr(self.model, "name", "?"),
                      workspace=str(self.workspace.path), sandbox=sandbox.name,
                      resumed=bool(self.resume_state))
        if sandbox.warning:
            self.bus.emit("warning", message=sandbox.warning)
        try:
            return self._execute(sandbox)
        except KeyboardInterrupt:
            return self._finish(LoopOutcome(False, "interrupted", "interrupted by the user"), status="interrupted")
        except Exception as exc:  # noqa: BLE001 - a crash ends the run as `error`, never leaves it hanging
            return self._crashed(exc)
        finally:
            sandbox.close()

    def _execute(self, sandbox) -> RunResult:
        s, req = self.settings, self.request
        command = self._test_command()
        baseline_run = _Background(lambda: self._baseline(sandbox, command))
        system = self._system_prompt(command)
        if req.on_ready is not None:
            req.on_ready()
        budget = Budget(s.max_steps, s.max_tokens, s.max_cost, s.max_time,
                        spent_time=self.resume_state.elapsed if self.resume_state else 0.0)
        budget.start()
        self.counters = LoopCounters()
        self.state = WorkingState(goal=req.instruction)
        planned = None if self.resume_state else self._ask_planner(system, budget)  # while the baseline runs
        baseline = baseline_run.result()
        if baseline is not None and not self.resume_state:
            self.bus.emit("test_report", phase="baseline", **baseline.summary(), failing=sorted(baseline.failed)[:50])
        runner = TestRunner(sandbox, command, timeout=s.test_timeout) if command else None
        self.concern = Concern.of(req.instruction, self.workspace.path)
        targets = (self.resume_state.targets if self.resume_state
                   else [t for t in (baseline.failed if baseline else []) if self.concern.why(t)])
        self.gate = TestGate(runner, baseline, targets)
        self.conv = Conversation(system, self._task_message(""), count_tokens,
                                 window=min(s.context_window, self.model.context_window), compact_at=s.compact_at)
        if self.resume_state:
            self._restore()
        else:
            if isinstance(planned, LoopOutcome):
                return self._finish(planned)
            self._take_plan(*planned)
            if req.plan_only:
                return self._finish(LoopOutcome(True, "planned", self.state.plan.render()), status="planned")
            self._save_state(budget)
        tools = ToolBox(self.workspace.path, sandbox, EditEngine(self.workspace.path, validate_syntax=s.validate_syntax,
                        max_file_bytes=s.max_file_bytes), self.gate, self.log.dir / "outputs",
                        max_file_bytes=s.max_file_bytes, command_timeout=s.command_timeout)
        planner = Planner(self.model, system, self.bus, self.repo)
        agent = Agent(self.model, tools, self.gate, self.conv, self.state, budget, self.bus, counters=self.counters,
                      checkpointer=self.workspace, replan=lambda tried: self._replan(planner, tried, budget),
                      save_state=lambda: self._save_state(budget), judge=self._judge)
        self.budget = budget
        return self._finish(agent.run())

    def _test_command(self) -> TestCommand | None:
        if self.resume_state:
            cmd = self.resume_state.test_command
            return TestCommand(**cmd) if cmd else None
        command = detect_test_command(self.workspace.path, self.settings.test_cmd)
        if command is None:
            self.bus.emit("warning", message="no test command found; set --test-cmd or test_cmd in config")
            return None
        self.bus.emit("test_command", cmd=command.cmd, runner=command.runner, reason=command.reason)
        return command

    def _baseline(self, sandbox, command: TestCommand | None) -> TestReport | None:
        """The test suite before any change (run in the background while the planner thinks)."""
        if self.resume_state:
            base = self.resume_state.baseline
            return TestReport.from_dict(base) if base else None
        if command is None:
            return None
        return TestRunner(sandbox, command, timeout=self.settings.test_timeout).run(None, rerun_failures=False)

    def _system_prompt(self, command: TestCommand | None) -> str:
        """Everything the model needs that is known before the baseline: it is the same
        for the planner and every loop call, so provider-side prompt caching hits."""
        ws = self.workspace.path
        repo_map = ""
        if self.settings.repo_map_tokens:
            try:
                repo_map = ContextEngine(ws).repo_map(self.request.instruction, tokens=self.settings.repo_map_tokens)
            except Exception as exc:  # the map is an aid; a failure must not stop the run
                self.bus.emit("warning", message=f"repo map unavailable: {exc}")
        return render("system.md.j2", self.repo, workspace=str(ws),
                      test_command=command.cmd if command else "(none found)",
                      instructions=load_project_instructions(ws), repo_map=repo_map)

    def _task_message(self, plan: str) -> str:
        baseline = self.gate.baseline
        return render("task.md.j2", self.repo, instruction=self.request.instruction, plan=plan,
                      baseline_failures=sorted(baseline.failed) if baseline else [])

    def _ask_planner(self, system: str, budget: Budget):
        """(plan, usage) from the planner, or the LoopOutcome that ends the run."""
        stop = budget.exceeded(self.counters.usage, self.counters.steps)
        if stop:
            return LoopOutcome(False, *stop)
        try:
            return Planner(self.model, system, self.bus, self.repo).plan(self.request.instruction,
                                                                         deadline=budget.deadline())
        except DeadlineReached:
            return LoopOutcome(False, "budget:time", Budget.time_message(budget.max_time))
        except ModelError as exc:
            return LoopOutcome(False, "model_error", str(exc))

    def _take_plan(self, plan, usage: Usage) -> None:
        self.counters.steps += 1
        self.counters.usage.add(usage)
        self.state.plan = plan
        self.bus.emit("plan", steps=plan.to_dict()["steps"], revision=plan.revision)
        self.conv.task.content = self._task_message(plan.render())

    def _replan(self, planner: Planner, tried: str, budget: Budget):
        if budget.exceeded(self.counters.usage, self.counters.steps):
            return None
        try:
            plan, usage = planner.plan(self.request.instruction, tried=tried, revision=self.state.plan.revision + 1,
                                       deadline=budget.deadline())
        except Exception:
            return None
        self.counters.steps += 1
        self.counters.usage.add(usage)
        return plan

    # -- state for resume ------------------------------------------------------------

    def _save_state(self, budget: Budget) -> None:
        req = self.request
        state = ResumeState(
            run_id=self.workspace.run_id, instruction=req.instruction, apply=req.apply, branch=req.branch,
            patch_path=str(req.patch_path) if req.patch_path else None, conversation=self.conv.to_dict(),
            working=self.state.to_dict(), counters=self.counters.to_dict(), targets=self.gate.targets,
            test_command=dataclasses.asdict(self.gate.runner.command) if self.gate.runner else None,
            baseline=self.gate.baseline.to_dict() if self.gate.baseline else None, elapsed=budget.elapsed())
        self.log.save_state(dataclasses.asdict(state))

    def _restore(self) -> None:
        st, s = self.resume_state, self.settings
        self.conv = Conversation.from_dict(st.conversation, count_tokens,
                                           window=min(s.context_window, self.model.context_window),
                                           compact_at=s.compact_at)
        self.state = WorkingState.from_dict(st.working)
        self.counters = LoopCounters.from_dict(st.counters)
        self.bus.emit("resume", steps=self.counters.steps, elapsed=st.elapsed)

    # -- the end -------------------------------------------------------------------

    def _judge(self, outcome: TestOutcome | None, changes: str | None = None) -> Verdict:
        """The outcome contract on the current tree (agent.outcome.judge: the one place it is decided)."""
        if outcome is None:
            return judge(self.concern, self.gate.baseline, None, None, "")
        changes = self.workspace.diff() if changes is None else changes
        return judge(self.concern, self.gate.baseline, outcome.report, outcome.diff, changes)

    def _finish(self, outcome: LoopOutcome, status: str | None = None) -> RunResult:
        ws, log, req = self.workspace, self.log, self.request
        status = status or ("done" if outcome.done else "not_done")
        diff = ws.diff() if status != "planned" else ""
        verdict = self._judge(self.gate.last, diff) if self.gate.available and status in ("done", "not_done") else None
        reason = outcome.reason
        if status == "done" and verdict is not None:
            status, reason = ("done", verdict.reason) if verdict.done else ("not_done", verdict.reason)
        patch_path = log.save_patch(diff) if diff else None
        result = RunResult(status=status, reason=reason,
                           summary=outcome.summary, diff=diff, plan=self.state.plan.to_dict()["steps"],
                           tests_before=self.gate.baseline.summary() if self.gate.baseline else None,
                           tests_after=self.gate.last.report.summary() if self.gate.last else None,
                           usage=self.counters.usage, steps=self.counters.steps,
                           wall_time=round(time.monotonic() - self.started, 3), session_id=log.id,
                           session_dir=log.dir, patch_path=patch_path, run_id=ws.run_id,
                           regressions=list(self.gate.last.diff.regressions) if self.gate.last else [],
                           failing=verdict.failing if verdict else [],
                           unrelated_failing=verdict.unrelated_failing if verdict else [])
        if status == "done" and diff and req.apply != "none":
            self._apply_back(result)
        self.bus.emit("final", **{k: v for k, v in result.to_dict().items() if k not in ("diff", "plan", "kind")})
        log.save_result(result.to_dict())
        log.mark_status(status)
        if status != "interrupted" and not req.keep_workspace:
            with _GIT_LOCK:
                ws.close()
        return result

    def _crashed(self, exc: Exception) -> RunResult:
        """A fault or a bug during the run: status `error`, session finalised, worktree released."""
        import traceback

        reason = f"error:{type(exc).__name__}"
        self.bus.emit("warning", message=f"the run failed: {type(exc).__name__}: {exc}",
                      traceback=traceback.format_exc())
        try:
            result = self._finish(LoopOutcome(False, reason, str(exc)), status="error")
        except Exception:  # noqa: BLE001 - finalising failed too: release what we hold and re-raise the cause
            self._abandon()
            raise exc
        return result

    def _apply_back(self, result: RunResult) -> None:
        apply_result(self.request, self.workspace, result, self.bus)

    def _abandon(self) -> None:
        if self.log is not None:
            self.log.mark_status("error")
        if self.workspace is not None and not self.request.resume_session:
            self.workspace.close()


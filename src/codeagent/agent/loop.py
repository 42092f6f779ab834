"""The iterate loop: model turn -> tool calls -> observations, until the task is done
(finish accepted by the tests) or a budget, the stuck detector or the model stops it.

Recovery lives here: malformed replies and failed tools become observations; repeated
failures and runs of regressions lead to a warning, a rollback to the last checkpoint,
one re-plan, and then a stop."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from codeagent.agent.memory import ActionRecord, Conversation, WorkingState
from codeagent.agent.schemas import TOOL_NAMES, TOOLS
from codeagent.agent.stuck import StuckDetector
from codeagent.agent.testgate import TestGate
from codeagent.agent.tools import Observation, ToolBox
from codeagent.agent.budget import Budget
from codeagent.edits import EditFormatError, parse_edits
from codeagent.errors import BudgetExceeded, ContextLengthError, ModelError
from codeagent.events import EventBus
from codeagent.models.base import Message, Model, ModelReply, ToolCall, Usage
from codeagent.plan import Plan
from codeagent.prompting import render

FENCED_CMD = re.compile(r"```(?:bash|sh|shell)\n(.*?)```", re.S)
FINISH_LINE = re.compile(r"^FINISH:\s*(.*)$", re.M)


class Checkpointer(Protocol):
    def checkpoint(self, message: str) -> str: ...
    def rollback(self, sha: str | None = None) -> str: ...


@dataclass
class LoopOutcome:
    done: bool
    reason: str
    summary: str = ""


@dataclass
class LoopCounters:
    """The loop's resumable counters (saved with the conversation after every step)."""

    steps: int = 0
    usage: Usage = field(default_factory=Usage)
    replans: int = 0
    stuck_signals: int = 0
    regress_streak: int = 0
    checkpoints: list[str] = field(default_factory=list)


class Agent:
    def __init__(self, model: Model, tools: ToolBox, gate: TestGate, conv: Conversation, state: WorkingState,
                 budget: Budget, bus: EventBus, *, counters: LoopCounters | None = None,
                 checkpointer: Checkpointer | None = None, replan: Callable[[str], Plan | None] | None = None,
                 save_state: Callable[[], None] | None = None,
                 rollback_after: int = 3, max_replans: int = 1):
        self.model, self.tools, self.gate, self.conv, self.state = model, tools, gate, conv, state
        self.budget, self.bus = budget, bus
        self.counters = counters or LoopCounters()
        self.checkpointer, self.replan_fn, self.save_state = checkpointer, replan, save_state
        self.rollback_after, self.max_replans = rollback_after, max_replans
        self.stuck = StuckDetector()
        self._finished: LoopOutcome | None = None

    # -- the loop ------------------------------------------------------------------

    def run(self) -> LoopOutcome:
        while self._finished is None:
            try:
                self.budget.check(self.counters.usage, self.counters.steps)
            except BudgetExceeded as exc:
                return LoopOutcome(False, f"budget:{exc.which}", exc.message)
            reply = self._call_model()
            if isinstance(reply, LoopOutcome):
                return reply
            self._handle_reply(reply)
            if self.save_state:
                self.save_state()
        return self._finished

    def _call_model(self) -> ModelReply | LoopOutcome:
        if self.conv.compact(self.state):
            self.bus.emit("compaction", tokens_after=self.conv.tokens(), count=self.conv.compactions)
        for _ in range(3):
            self.bus.emit("model_call", step=self.counters.steps + 1, prompt_tokens=self.conv.tokens())
            try:
                reply = self.model.complete(self.conv.messages(), TOOLS, on_delta=self.bus.delta)
                break
            except ContextLengthError:
                if not self.conv.compact(self.state, force=True):
                    return LoopOutcome(False, "model_error", "context window exceeded and nothing left to compact")
                self.bus.emit("compaction", tokens_after=self.conv.tokens(), count=self.conv.compactions, forced=True)
            except ModelError as exc:
                return LoopOutcome(False, "model_error", str(exc))
        else:
            return LoopOutcome(False, "model_error", "context window exceeded after compacting")
        self.counters.steps += 1
        self.counters.usage.add(reply.usage)
        u = self.counters.usage
        self.bus.emit("usage", step=self.counters.steps, prompt_tokens=u.prompt_tokens,
                      completion_tokens=u.completion_tokens, cached_tokens=u.cached_tokens, cost=round(u.cost, 6))
        return reply

    def _handle_reply(self, reply: ModelReply) -> None:
        msg = reply.message
        if msg.content and msg.content.strip():
            self.state.decisions.append(msg.content.strip()[:300])
            self.bus.emit("message", step=self.counters.steps, text=msg.content.strip()[:4000])
        if not msg.tool_calls:
            self._handle_text(reply)
            return
        results = [self._run_call(call) for call in msg.tool_calls]
        turn = [Message("assistant", msg.content, tool_calls=msg.tool_calls)]
        turn += [Message("tool", text, tool_call_id=call.id, name=call.name) for call, text in results]
        if reply.finish_reason == "length":
            turn.append(Message("user", "Your reply was cut off (length limit). Send smaller edits, one at a time."))
        self._add_turn(turn)

    def _add_turn(self, turn: list[Message]) -> None:
        notes = self._after_turn()
        if notes:
            turn.append(Message("user", "\n\n".join(notes)))
        self.conv.add_turn(turn)

    # -- one tool call -------------------------------------------------------------

    def _run_call(self, call: ToolCall) -> tuple[ToolCall, str]:
        self.bus.emit("tool_call", step=self.counters.steps, id=call.id, name=call.name,
                      arguments=call.arguments[:2000])
        args, error = parse_arguments(call)
        if error:
            obs = Observation(error, ok=False)
        elif call.name == "update_plan":
            obs = self._update_plan(args)
        elif call.name == "finish":
            obs = self._finish(str(args.get("summary", "")))
        else:
            obs = self.tools.call(call.name, args)
            if call.name == "run_tests" and self.gate.available and "report" in obs.data:
                self._after_tests(obs, full=not args.get("selection"))
        self._record(call.name, args, obs)
        self.bus.emit("tool_result", step=self.counters.steps, id=call.id, name=call.name, ok=obs.ok,
                      output=obs.text[:4000])
        return call, obs.text

    def _record(self, tool: str, args: dict[str, Any], obs: Observation) -> None:
        target = str(args.get("path") or args.get("command") or args.get("pattern") or args.get("selection") or "")
        brief = obs.text.strip().splitlines()[0][:160] if obs.text.strip() else ""
        self.state.actions.append(ActionRecord(self.counters.steps, tool, target[:160], obs.ok, brief))
        if tool in ("edit_file", "write_file", "run_command", "apply_edits"):
            self._tree_tested = False
        if tool in ("edit_file", "write_file") and obs.ok:
            self.state.files_changed[str(args.get("path"))] = brief
        signature = f"{tool} {json.dumps(args, sort_keys=True)[:500]} -> {brief}"
        reason = self.stuck.action(signature, obs.ok, obs.progress)
        if reason:
            self._stuck_reason = reason

    def _update_plan(self, args: dict[str, Any]) -> Observation:
        try:
            plan = Plan.from_args(args.get("steps"), revision=self.state.plan.revision + 1)
        except ValueError as exc:
            return Observation(f"update_plan refused: {exc}", ok=False)
        self.state.plan = plan
        self.bus.emit("plan", steps=plan.to_dict()["steps"], revision=plan.revision)
        return Observation("plan updated:\n" + plan.render(), progress=False)

    def _finish(self, summary: str) -> Observation:
        if not self.gate.available:
            self._finished = LoopOutcome(True, "finished_no_tests", summary)
            return Observation("finished (no test command to check against)")
        reused = self._tree_tested and self.gate.last is not None  # nothing changed since the last full run
        outcome = self.gate.last if reused else self.gate.run(None)
        self.bus.emit("test_report", final=True, reused=reused, **outcome.report.summary(),
                      regressions=outcome.diff.regressions)
        self.state.tests = self.gate.status_line()
        still = [t for t in outcome.diff.still_failing if t not in self.gate.targets]
        if outcome.ok and still and not self._warned_preexisting:
            self._warned_preexisting = True
            return Observation(
                f"finish held back once: {len(still)} test(s) that failed before you started still fail: "
                f"{', '.join(still[:10])}. If the task is meant to fix them, fix them; if they are unrelated, "
                "call finish again.", ok=False)
        if outcome.ok:
            for step in self.state.plan.steps:
                step.status = "done" if step.status in ("pending", "in_progress") else step.status
            self.bus.emit("plan", steps=self.state.plan.to_dict()["steps"], revision=self.state.plan.revision)
            self._finished = LoopOutcome(True, "tests_pass", summary)
            return Observation("finish accepted: " + outcome.text.splitlines()[0])
        return Observation("finish refused: the full test suite does not pass yet.\n" + outcome.text, ok=False)

    def _after_tests(self, obs: Observation, full: bool) -> None:
        outcome = self.gate.last if full else None
        self.bus.emit("test_report", final=False, **obs.data["report"], regressions=obs.data["regressions"])
        self.state.tests = self.gate.status_line()
        if outcome is None:
            return
        self._tree_tested = True
        if outcome.diff.regressions:
            self.counters.regress_streak += 1
        else:
            self.counters.regress_streak = 0
            if self.checkpointer and (outcome.improved or not self.counters.checkpoints):
                sha = self.checkpointer.checkpoint(f"step {self.counters.steps}: {self.gate.status_line()}")
                self.counters.checkpoints.append(sha)
                self.bus.emit("checkpoint", step=self.counters.steps, sha=sha)

    # -- text replies (models without tool calling) -----------------------------------

    def _handle_text(self, reply: ModelReply) -> None:
        text = reply.message.content or ""
        observations = []
        try:
            edits = parse_edits(text) if text else []
        except EditFormatError as exc:
            edits = []
            observations.append(f"Your edit text is malformed: {exc}. Nothing was changed.")
        if edits:
            report = self.tools.edits.apply(edits)
            observations.append(report.describe())
            self._record("apply_edits", {"path": ",".join(sorted(report.files_changed))},
                         Observation(report.describe(), ok=report.ok, progress=report.ok))
            if report.ok:
                for path in report.files_changed:
                    self.state.files_changed[path] = "edited (text protocol)"
        for command in FENCED_CMD.findall(text):
            obs = self.tools.call("run_command", {"command": command.strip()})
            observations.append(f"$ {command.strip()}\n{obs.text}")
            self._record("run_command", {"command": command.strip()}, obs)
        finish = FINISH_LINE.search(text)
        if finish:
            observations.append(self._finish(finish.group(1)).text)
        if not observations:
            reason = self.stuck.malformed()
            if reason:
                self._stuck_reason = reason
            note = render("text_protocol.md.j2", tools=TOOL_NAMES)
            observations.append(("Your reply was empty. " if not text.strip() else "") + note)
            self.bus.emit("warning", step=self.counters.steps, message="reply without a tool call")
        self._add_turn([Message("assistant", text), Message("user", "\n\n".join(observations))])

    # -- recovery --------------------------------------------------------------------

    _stuck_reason: str | None = None
    _warned_preexisting: bool = False
    _tree_tested: bool = False  # the last full test run saw the current tree

    def _after_turn(self) -> list[str]:
        notes = []
        if (self.counters.regress_streak >= self.rollback_after and self.checkpointer
                and self.counters.checkpoints and self._finished is None):
            notes.append(self._rollback())
        reason, self._stuck_reason = self._stuck_reason, None
        if reason and self._finished is None:
            notes.append(self._on_stuck(reason))
        return [n for n in notes if n]

    def _rollback(self) -> str:
        sha = self.checkpointer.rollback(self.counters.checkpoints[-1])
        tried = [f"{a.tool} {a.target}: {a.brief}" for a in self.state.actions[-8:]]
        self.counters.regress_streak = 0
        self._tree_tested = False
        self.bus.emit("rollback", step=self.counters.steps, sha=sha)
        return ("The tests kept regressing, so the workspace was rolled back to the last checkpoint "
                f"({sha[:10]}), where no test regressed. What was tried since:\n- " + "\n- ".join(tried) +
                "\nTry a different approach.")

    def _on_stuck(self, reason: str) -> str:
        self.counters.stuck_signals += 1
        self.bus.emit("warning", step=self.counters.steps, message=f"stuck: {reason}")
        if self.counters.stuck_signals == 1:
            return f"Warning: {reason}. Step back, re-read the relevant code and change approach."
        if self.counters.replans < self.max_replans and self.replan_fn:
            self.counters.replans += 1
            tried = "\n".join(f"- {a.tool} {a.target}: {a.brief}" for a in self.state.actions[-15:])
            plan = self.replan_fn(tried)
            if plan is not None:
                self.state.plan = plan
                self.bus.emit("replan", step=self.counters.steps, reason=reason, steps=plan.to_dict()["steps"],
                              revision=plan.revision)
                return f"You were stuck ({reason}). New plan:\n{plan.render()}"
        self._finished = LoopOutcome(False, "stuck", reason)
        return ""


def parse_arguments(call: ToolCall) -> tuple[dict[str, Any], str | None]:
    if call.name not in TOOL_NAMES:
        return {}, f"unknown tool {call.name!r}. Available tools: {', '.join(TOOL_NAMES)}"
    try:
        args = json.loads(call.arguments or "{}")
    except json.JSONDecodeError as exc:
        return {}, (f"the arguments of {call.name} are not valid JSON ({exc.msg} at char {exc.pos}). "
                    "Send a JSON object with the parameters of the tool schema.")
    if not isinstance(args, dict):
        return {}, f"the arguments of {call.name} must be a JSON object, got {type(args).__name__}"
    return args, None

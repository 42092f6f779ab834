"""The iterate loop: model turn -> tool calls -> observations, until the task is done
(finish accepted by the tests) or a budget, the stuck detector or the model stops it.

Recovery lives here: malformed replies and failed tools become observations; repeated
failures and runs of regressions lead to a warning, a rollback to the last checkpoint,
one re-plan, and then a stop."""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import traceback

from codeagent.agent.budget import Budget
from codeagent.agent.memory import ActionRecord, Conversation, WorkingState
from codeagent.agent.outcome import Verdict
from codeagent.agent.schemas import TOOL_NAMES, TOOLS
from codeagent.agent.stuck import StuckDetector
from codeagent.agent.testgate import TestGate, TestOutcome
from codeagent.agent.textcalls import extract_tool_calls
from codeagent.agent.tools import Observation, ToolBox
from codeagent.agent.validate import APPLY_PATCH, resolve_call
from codeagent.edits import EditFormatError, parse_edits
from codeagent.errors import ContextLengthError, DeadlineReached, ModelError
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
    tree_tested: bool = False  # the last full test run saw the current tree
    confirmed_no_change: bool = False  # a finish without any change was held back once

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "LoopCounters":
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["usage"] = Usage(**values.get("usage", {}))
        values["checkpoints"] = list(values.get("checkpoints", []))
        return cls(**values)


class Agent:
    def __init__(self, model: Model, tools: ToolBox, gate: TestGate, conv: Conversation, state: WorkingState,
                 budget: Budget, bus: EventBus, *, counters: LoopCounters | None = None,
                 checkpointer: Checkpointer | None = None, replan: Callable[[str], Plan | None] | None = None,
                 save_state: Callable[[], None] | None = None, judge: Callable[[TestOutcome], Verdict] | None = None,
                 rollback_after: int = 3, max_replans: int = 1):
        self.model, self.tools, self.gate, self.conv, self.state = model, tools, gate, conv, state
        self.budget, self.bus = budget, bus
        self.counters = counters or LoopCounters()
        self.checkpointer, self.replan_fn, self.save_state = checkpointer, replan, save_state
        self.rollback_after, self.max_replans = rollback_after, max_replans
        self.judge = judge or _judge_by_gate
        self.stuck = StuckDetector()
        self._finished: LoopOutcome | None = None
        self._stuck_reason: str | None = None  # set by a tool call, acted on after the turn

    # -- the loop ------------------------------------------------------------------

    def run(self) -> LoopOutcome:
        while self._finished is None:
            stop = self.budget.exceeded(self.counters.usage, self.counters.steps)
            if stop:
                return LoopOutcome(False, *stop)
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
                reply = self.model.complete(self.conv.messages(), TOOLS, on_delta=self.bus.delta,
                                            deadline=self.budget.deadline())
                break
            except DeadlineReached:
                return LoopOutcome(False, "budget:time", Budget.time_message(self.budget.max_time))
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
        calls = unique_ids(msg.tool_calls, self.counters.steps)
        results = [self._run_call(call) for call in calls]
        turn = [Message("assistant", msg.content, tool_calls=calls)]
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
        raw = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
        self.bus.emit("tool_call", step=self.counters.steps, id=call.id, name=call.name, arguments=raw[:2000])
        resolved = resolve_call(call.name, call.arguments)
        args = resolved.args
        if resolved.error:
            obs = Observation(resolved.error, ok=False)
        elif resolved.tool == APPLY_PATCH:
            obs = self._apply_edit_text(args["patch"])
        elif resolved.tool == "update_plan":
            obs = self._update_plan(args)
        elif resolved.tool == "finish":
            obs = self._finish(args.get("summary", ""))
        else:
            obs = self._call_tool(resolved.tool, args)
        if resolved.notes:
            obs.text = obs.text + "\n(" + "; ".join(resolved.notes) + ")"
        self._record(resolved.tool, args, obs)
        self.bus.emit("tool_result", step=self.counters.steps, id=call.id, name=call.name, ok=obs.ok,
                      output=obs.text[:4000])
        return call, obs.text

    def _call_tool(self, name: str, args: dict[str, Any]) -> Observation:
        """A work tool; an exception from it is a bug of ours, shown to the model and logged."""
        try:
            obs = self.tools.call(name, args)
        except Exception as exc:  # noqa: BLE001 - no exception from a tool leaves the loop
            self.bus.emit("warning", step=self.counters.steps, message=f"{name} failed: {type(exc).__name__}: {exc}",
                          traceback=traceback.format_exc())
            return Observation(f"{name} failed with an internal error ({type(exc).__name__}: {exc}). "
                               "Try another way.", ok=False)
        if name == "run_tests" and self.gate.available and "report" in obs.data:
            self._after_tests(obs, full=not args.get("selection"))
        return obs

    def _record(self, tool: str, args: dict[str, Any], obs: Observation) -> None:
        target = str(args.get("path") or args.get("command") or args.get("pattern") or args.get("selection") or "")
        brief = obs.text.strip().splitlines()[0][:160] if obs.text.strip() else ""
        self.state.actions.append(ActionRecord(self.counters.steps, tool, target[:160], obs.ok, brief))
        if tool in ("edit_file", "write_file", "run_command", "apply_edits", APPLY_PATCH):
            self.counters.tree_tested = False
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
            self._finished = LoopOutcome(True, "no_tests", summary)
            return Observation("finished (no test command to check against)")
        reused = self.counters.tree_tested and self.gate.last is not None  # nothing changed since the last full run
        outcome = self.gate.last if reused else self.gate.run(None)
        self.counters.tree_tested = True
        self.bus.emit("test_report", phase="final", reused=reused, **outcome.report.summary(),
                      regressions=outcome.diff.regressions)
        self.state.tests = self.gate.status_line()
        verdict = self.judge(outcome)
        if not verdict.done:
            return Observation(f"finish refused: {verdict.explain()}\n\n{outcome.text}", ok=False)
        if verdict.reason == "no_changes" and not self.counters.confirmed_no_change:
            self.counters.confirmed_no_change = True
            return Observation("finish held back: you have not changed any file. If the task really needs no "
                               "change, call finish again and say why; otherwise make the change.", ok=False)
        for step in self.state.plan.steps:
            step.status = "done" if step.status in ("pending", "in_progress") else step.status
        self.bus.emit("plan", steps=self.state.plan.to_dict()["steps"], revision=self.state.plan.revision)
        self._finished = LoopOutcome(True, verdict.reason, summary)
        return Observation("finish accepted: " + verdict.explain())

    def _after_tests(self, obs: Observation, full: bool) -> None:
        outcome = self.gate.last if full else None
        self.bus.emit("test_report", phase="run", **obs.data["report"], regressions=obs.data["regressions"])
        self.state.tests = self.gate.status_line()
        if outcome is None:
            return
        self.counters.tree_tested = True
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
        written = extract_tool_calls(text, self.counters.steps)
        if written:  # tool calls written as text: run them, answer in text
            results = [self._run_call(call) for call in written]
            observations = [f"[{call.name}] {out}" for call, out in results]
        else:
            observations = self._text_protocol(text)
        if not observations:
            reason = self.stuck.malformed()
            if reason:
                self._stuck_reason = reason
            note = render("text_protocol.md.j2", tools=TOOL_NAMES)
            cut = "Your reply was cut off (length limit). " if reply.finish_reason == "length" else ""
            observations.append(cut + ("Your reply was empty. " if not text.strip() else "") + note)
            self.bus.emit("warning", step=self.counters.steps, message="reply without a tool call")
        self._add_turn([Message("assistant", text), Message("user", "\n\n".join(observations))])

    def _text_protocol(self, text: str) -> list[str]:
        """Edit blocks, fenced commands and a FINISH line; one observation each."""
        observations = []
        if text:
            obs = self._apply_edit_text(text, quiet=True)
            if obs.text:
                observations.append(obs.text)
                self._record("apply_edits", obs.data, obs)
        for command in FENCED_CMD.findall(text):
            obs = self._call_tool("run_command", {"command": command.strip()})
            observations.append(f"$ {command.strip()}\n{obs.text}")
            self._record("run_command", {"command": command.strip()}, obs)
        finish = FINISH_LINE.search(text)
        if finish:
            observations.append(self._finish(finish.group(1)).text)
        return observations

    def _apply_edit_text(self, text: str, quiet: bool = False) -> Observation:
        """Edits written as text (SEARCH/REPLACE, unified diff, *** Begin Patch)."""
        try:
            edits = parse_edits(text)
        except EditFormatError as exc:
            return Observation(f"Your edit text is malformed: {exc}. Nothing was changed.", ok=False)
        if not edits:
            return Observation("" if quiet else "no edits found in the patch text", ok=False)
        report = self.tools.edits.apply(edits)
        obs = Observation(report.describe(), ok=report.ok, progress=report.ok,
                          data={"path": ",".join(sorted(report.files_changed))})
        if report.ok:
            for path in report.files_changed:
                self.state.files_changed[path] = "edited (patch text)"
        return obs

    # -- recovery --------------------------------------------------------------------

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
        self.counters.tree_tested = False
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


def unique_ids(calls: list[ToolCall], step: int) -> list[ToolCall]:
    """The calls with ids that are unique and non-empty (each tool result must answer one id)."""
    seen: set[str] = set()
    out = []
    for n, call in enumerate(calls, 1):
        cid = call.id or f"call_{step}_{n}"
        while cid in seen:
            cid = f"{cid}_{n}"
        seen.add(cid)
        raw = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
        out.append(ToolCall(cid, call.name or "", raw))
    return out


def _judge_by_gate(outcome: TestOutcome) -> Verdict:
    """Without a task-aware judge (unit tests of the loop): the gate's own criterion."""
    return Verdict(outcome.ok, "tests_pass" if outcome.ok else "tests_failing", outcome.diff.regressions)

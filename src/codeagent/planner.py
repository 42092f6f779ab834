"""Instruction + context -> Plan, through one model call offered only `update_plan`.
Touches no files."""

from __future__ import annotations

from pathlib import Path

from codeagent.agent.schemas import tool_specs
from codeagent.events import EventBus
from codeagent.models.base import Message, Model, Usage
from codeagent.agent.textcalls import extract_tool_calls
from codeagent.agent.validate import resolve_call
from codeagent.plan import Plan
from codeagent.prompting import render


class Planner:
    def __init__(self, model: Model, system_prompt: str, bus: EventBus, repo: Path | None = None):
        self.model = model
        self.system_prompt = system_prompt
        self.bus = bus
        self.repo = repo

    def plan(self, instruction: str, tried: str = "", revision: int = 0, *,
             deadline: float | None = None) -> tuple[Plan, Usage]:
        """Ask for a plan. A reply without a usable `update_plan` call gives a one-step
        plan (the instruction itself) and a warning, never a failure. `deadline` (a
        `time.monotonic()` instant) is passed to the model: past it, DeadlineReached."""
        messages = [Message("system", self.system_prompt),
                    Message("user", render("plan.md.j2", self.repo, instruction=instruction, tried=tried))]
        reply = self.model.complete(messages, tool_specs(["update_plan"]), deadline=deadline)
        calls = reply.message.tool_calls or extract_tool_calls(reply.message.content or "")
        for call in calls:
            resolved = resolve_call(call.name, call.arguments)
            if resolved.tool != "update_plan":
                continue
            try:
                if resolved.error:
                    raise ValueError(resolved.error)
                plan = Plan.from_args(resolved.args["steps"], revision=revision)
            except ValueError as exc:
                self.bus.emit("warning", message=f"planner returned an unusable plan: {exc}")
                break
            return plan, reply.usage
        else:
            self.bus.emit("warning", message="planner did not call update_plan; using a one-step plan")
        fallback = Plan.from_args([{"what": instruction, "done_when": "the tests pass"}], revision=revision)
        return fallback, reply.usage

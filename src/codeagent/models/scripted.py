"""A model that replays scripted turns: for tests, the demo and replays.

Each step is one of:
  - a `ModelReply` (returned as is);
  - a `str` (an assistant reply with text only);
  - a `dict` {"tool": name, "args": {...} | raw JSON str, "text": optional} (one tool call);
  - a `list` of such dicts (several tool calls in one turn);
  - an `Exception` instance (raised, to script provider faults);
  - a callable `(messages) -> any of the above` (to react to what the loop sent).
"""

from __future__ import annotations

import copy
import json
import time
from typing import Any

from codeagent.errors import DeadlineReached, ModelError
from codeagent.models.base import Message, ModelReply, ToolCall, ToolSpec, Usage

Step = Any


def tool(name: str, text: str | None = None, **args: Any) -> dict[str, Any]:
    """Shorthand for a scripted tool-call step."""
    return {"tool": name, "args": args, "text": text}


class ScriptedModel:
    def __init__(self, steps: list[Step], *, name: str = "scripted", context_window: int = 128_000,
                 tokens_per_char: float = 0.25):
        self.steps = list(steps)
        self.name = name
        self.context_window = context_window
        self.tokens_per_char = tokens_per_char
        self.calls: list[dict[str, Any]] = []
        self._next = 0

    def complete(self, messages: list[Message], tools: list[ToolSpec], *, on_delta=None,
                 deadline: float | None = None) -> ModelReply:
        """The next scripted turn. A `deadline` already past raises DeadlineReached (as a
        real model's cancelled call would) without using a step."""
        self.calls.append({"messages": copy.deepcopy(messages), "tools": [t.name for t in tools],
                           "deadline": deadline})
        if deadline is not None and time.monotonic() >= deadline:
            raise DeadlineReached("the deadline passed before the scripted model was called")
        if self._next >= len(self.steps):
            raise ModelError(f"scripted model has no step {self._next + 1} (script has {len(self.steps)})")
        step = self.steps[self._next]
        self._next += 1
        if callable(step) and not isinstance(step, type):
            step = step(messages)
        if isinstance(step, BaseException):
            raise step
        reply = self._to_reply(step, self._next)
        if on_delta and reply.message.content:
            on_delta(reply.message.content)
        prompt_chars = sum(len(m.content or "") + sum(len(c.arguments) for c in m.tool_calls) for m in messages)
        reply.usage = reply.usage if reply.usage.calls else Usage(
            prompt_tokens=int(prompt_chars * self.tokens_per_char) + 1,
            completion_tokens=int(len(reply.message.content or "") * self.tokens_per_char)
            + sum(len(c.arguments) for c in reply.message.tool_calls) // 4 + 1,
            calls=1,
        )
        return reply

    @staticmethod
    def _to_reply(step: Step, index: int) -> ModelReply:
        if isinstance(step, ModelReply):
            return step
        if isinstance(step, str):
            return ModelReply(Message("assistant", step), finish_reason="stop")
        calls_spec = step if isinstance(step, list) else [step]
        calls, text = [], None
        for i, spec in enumerate(calls_spec):
            args = spec.get("args", {})
            raw = args if isinstance(args, str) else json.dumps(args)
            calls.append(ToolCall(id=f"call_{index}_{i}", name=spec["tool"], arguments=raw))
            text = text or spec.get("text")
        return ModelReply(Message("assistant", text, tool_calls=calls), finish_reason="tool_calls")

    @property
    def remaining(self) -> int:
        return len(self.steps) - self._next

    def assert_complete(self) -> None:
        if self._next != len(self.steps):
            raise AssertionError(f"scripted model used {self._next} of {len(self.steps)} steps")


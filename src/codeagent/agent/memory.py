"""The conversation the model sees, and its structured compaction.

Layout of every request (the first two parts never change, so provider-side prompt
caching hits):  [system: prompt + project instructions + repo map] [user: task]
[user: working memory, only after a compaction] [turns, append-only].

When the request nears `compact_at` of the context window, older turns are replaced by
one working-memory record (goal, plan with status, files changed, test status, actions,
decisions, failures, next action) and only the latest turns are kept.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from codeagent.models.base import Message
from codeagent.plan import Plan
from codeagent.prompting import render

TokenCounter = Callable[[str], int]


@dataclass
class ActionRecord:
    step: int
    tool: str
    target: str
    ok: bool
    brief: str


@dataclass
class WorkingState:
    """What compaction keeps; also saved for resume."""

    goal: str
    plan: Plan = field(default_factory=Plan)
    actions: list[ActionRecord] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    files_changed: dict[str, str] = field(default_factory=dict)  # path -> why (last edit's brief)
    tests: str = "not run yet"

    def to_dict(self) -> dict[str, Any]:
        return {"goal": self.goal, "plan": self.plan.to_dict(), "actions": [asdict(a) for a in self.actions],
                "decisions": self.decisions, "files_changed": self.files_changed, "tests": self.tests}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "WorkingState":
        return cls(d["goal"], Plan.from_dict(d["plan"]), [ActionRecord(**a) for a in d["actions"]],
                   d["decisions"], d["files_changed"], d["tests"])


def message_tokens(msg: Message, count: TokenCounter) -> int:
    text = (msg.content or "") + "".join(c.name + c.arguments for c in msg.tool_calls)
    return count(text) + 4


class Conversation:
    def __init__(self, system: str, task: str, count: TokenCounter, *, window: int, compact_at: float,
                 keep_fraction: float = 0.2):
        self.system = Message("system", system)
        self.task = Message("user", task)
        self.memory: Message | None = None
        self.turns: list[list[Message]] = []
        self.count = count
        self.window = window
        self.compact_at = compact_at
        self.keep_fraction = keep_fraction
        self.compactions = 0
        self._prefix_tokens = message_tokens(self.system, count) + message_tokens(self.task, count)
        self._turn_tokens: list[int] = []
        self._turn_dicts: list[list[dict[str, Any]]] = []  # turns never change once added: serialized once

    def messages(self) -> list[Message]:
        out = [self.system, self.task] + ([self.memory] if self.memory else [])
        for turn in self.turns:
            out.extend(turn)
        return out

    def add_turn(self, messages: list[Message]) -> None:
        self.turns.append(list(messages))
        self._turn_tokens.append(sum(message_tokens(m, self.count) for m in messages))
        self._turn_dicts.append([m.to_dict() for m in messages])

    def tokens(self) -> int:
        memory = message_tokens(self.memory, self.count) if self.memory else 0
        return self._prefix_tokens + memory + sum(self._turn_tokens)

    def needs_compaction(self) -> bool:
        return self.tokens() > self.compact_at * self.window

    def compact(self, state: WorkingState, *, force: bool = False) -> bool:
        """Replace older turns by a working-memory record. Returns whether anything changed."""
        if not self.turns or (not force and not self.needs_compaction()):
            return False
        keep_budget = self.keep_fraction * self.window * (0.5 if force else 1.0)
        keep, kept_tokens = 0, 0
        for tokens in reversed(self._turn_tokens):
            if keep >= 1 and kept_tokens + tokens > keep_budget:
                break
            keep, kept_tokens = keep + 1, kept_tokens + tokens
        if force or keep == len(self.turns):
            keep = max(0, min(keep, len(self.turns) - 1)) if not force else max(0, keep - 1)
        if keep == len(self.turns):
            return False
        self.turns = self.turns[len(self.turns) - keep:] if keep else []
        self._turn_tokens = self._turn_tokens[len(self._turn_tokens) - keep:] if keep else []
        self._turn_dicts = self._turn_dicts[len(self._turn_dicts) - keep:] if keep else []
        self.memory = Message("user", render_memory(state))
        self.compactions += 1
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "system": self.system.content, "task": self.task.content,
            "memory": self.memory.content if self.memory else None,
            "turns": list(self._turn_dicts), "compactions": self.compactions,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], count: TokenCounter, *, window: int, compact_at: float) -> "Conversation":
        conv = cls(d["system"], d["task"], count, window=window, compact_at=compact_at)
        conv.memory = Message("user", d["memory"]) if d.get("memory") else None
        for turn in d["turns"]:
            conv.add_turn([Message.from_dict(m) for m in turn])
        conv.compactions = d.get("compactions", 0)
        return conv


def render_memory(state: WorkingState, recent: int = 30) -> str:
    failures = [f"step {a.step}: {a.tool} {a.target}: {a.brief}" for a in state.actions if not a.ok][-10:]
    pending = [s.what for s in state.plan.steps if s.status in ("pending", "in_progress")]
    return render(
        "memory.md.j2",
        goal=state.goal,
        plan=state.plan.render(),
        files=[f"{p}: {why}" for p, why in state.files_changed.items()],
        tests=state.tests,
        actions=state.actions[-recent:],
        total_actions=len(state.actions),
        decisions=state.decisions[-10:],
        failures=failures,
        next_action=pending[0] if pending else "check the tests pass, then call finish",
    )

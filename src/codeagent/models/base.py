"""What the loop knows about a model: messages in, one assistant reply out.

Provider types never leave `models/`; the loop sees only these dataclasses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Protocol, runtime_checkable


@dataclass
class ToolCall:
    """One tool call as the model sent it. `arguments` is the raw JSON text:
    the loop parses it, so invalid JSON becomes an observation, not a crash."""

    id: str
    name: str
    arguments: str = "{}"


@dataclass
class Message:
    role: str  # "system" | "user" | "assistant" | "tool"
    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Message":
        calls = [ToolCall(**c) for c in data.get("tool_calls") or []]
        return cls(
            role=data["role"],
            content=data.get("content"),
            tool_calls=calls,
            tool_call_id=data.get("tool_call_id"),
            name=data.get("name"),
        )


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost: float = 0.0
    calls: int = 0
    cost_unknown: bool = False  # some call's model had no price: `cost` undercounts

    def add(self, other: "Usage") -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.cached_tokens += other.cached_tokens
        self.cost += other.cost
        self.calls += other.calls
        self.cost_unknown = self.cost_unknown or other.cost_unknown

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class ToolSpec:
    """A tool offered to the model: name, description and JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass
class ModelReply:
    message: Message
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"  # "stop" | "tool_calls" | "length" | ...


DeltaCallback = Callable[[str], None]


@runtime_checkable
class Model(Protocol):
    """A chat model. `complete` returns one assistant turn or raises ModelError; when
    `deadline` (a `time.monotonic()` instant) passes before the turn is complete, the call
    is cancelled and DeadlineReached is raised."""

    name: str
    context_window: int

    def complete(
        self,
        messages: list[Message],
        tools: list[ToolSpec],
        *,
        on_delta: DeltaCallback | None = None,
        deadline: float | None = None,
    ) -> ModelReply: ...

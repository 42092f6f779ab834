"""Core emits events; the session log and the UI subscribe. Nothing here renders.

The JSONL schema is this module: one kw-only dataclass per event kind (`EVENTS`), and
`EventBus.emit(kind, **fields)` builds that dataclass, so an unknown kind, a missing
field or a stray one fails at the emitting line, not in a consumer. Fields that are
None are left out of the JSON (they are the optional ones, marked `?` in the README,
whose table a test checks against these classes). Every event may carry `attempt`
(best-of-n forwards its attempts' events with it).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable

Subscriber = Callable[["Event"], None]


@dataclass(kw_only=True)
class EventData:
    attempt: int | None = None  # set on events forwarded from a best-of-n attempt


@dataclass(kw_only=True)
class SessionStart(EventData):
    session_id: str
    repo: str
    instruction: str
    model: str
    workspace: str
    sandbox: str
    resumed: bool


@dataclass(kw_only=True)
class TestCommandEvent(EventData):
    cmd: str
    runner: str
    reason: str


@dataclass(kw_only=True)
class TestReportEvent(EventData):
    """One shape for the baseline, a run the model asked for and the final check."""

    phase: str  # baseline | run | final
    passed: int
    failed: int
    error: int
    skipped: int
    total: int
    flaky: int
    collection_errors: int
    timed_out: bool
    exit_code: int | None
    duration: float
    ok: bool
    regressions: list[str] = field(default_factory=list)
    failing: list[str] | None = None  # baseline: the failing tests (first 50)
    reused: bool | None = None  # final: answered by the last full run (nothing changed since)


@dataclass(kw_only=True)
class PlanEvent(EventData):
    steps: list[dict[str, Any]]
    revision: int


@dataclass(kw_only=True)
class Replan(PlanEvent):
    step: int
    reason: str


@dataclass(kw_only=True)
class ModelCall(EventData):
    step: int
    prompt_tokens: int


@dataclass(kw_only=True)
class MessageEvent(EventData):
    step: int
    text: str


@dataclass(kw_only=True)
class ToolCallEvent(EventData):
    step: int
    id: str
    name: str
    arguments: str


@dataclass(kw_only=True)
class ToolResult(EventData):
    step: int
    id: str
    name: str
    ok: bool
    output: str


@dataclass(kw_only=True)
class UsageEvent(EventData):
    step: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost: float


@dataclass(kw_only=True)
class Checkpoint(EventData):
    step: int
    sha: str


@dataclass(kw_only=True)
class Compaction(EventData):
    tokens_after: int
    count: int
    forced: bool | None = None


@dataclass(kw_only=True)
class Warning(EventData):  # noqa: A001 - the event kind's name
    message: str
    step: int | None = None
    traceback: str | None = None


@dataclass(kw_only=True)
class Resume(EventData):
    steps: int
    elapsed: float


@dataclass(kw_only=True)
class Final(EventData):
    status: str
    exit_code: int
    reason: str
    summary: str
    tests_before: dict[str, Any] | None
    tests_after: dict[str, Any] | None
    regressions: list[str]
    failing: list[str]
    unrelated_failing: list[str]
    steps: int
    wall_time: float
    session_id: str | None
    session_dir: str | None
    patch_path: str | None
    applied: bool
    run_id: str | None
    attempts: list[dict[str, Any]]
    usage: dict[str, Any]


@dataclass(kw_only=True)
class BestOf(EventData):
    chosen: int
    attempts: list[dict[str, Any]]


EVENTS: dict[str, type[EventData]] = {
    "session_start": SessionStart, "test_command": TestCommandEvent, "test_report": TestReportEvent,
    "plan": PlanEvent, "replan": Replan, "model_call": ModelCall, "message": MessageEvent,
    "tool_call": ToolCallEvent, "tool_result": ToolResult, "usage": UsageEvent, "checkpoint": Checkpoint,
    "rollback": Checkpoint, "compaction": Compaction, "warning": Warning, "resume": Resume, "final": Final,
    "attempt_final": Final, "best_of": BestOf,
}


def fields_of(kind: str) -> dict[str, bool]:
    """Field name -> always present (False: optional, None by default and then left out),
    for one event kind; the README's table is checked against it."""
    return {f.name: f.default is not None for f in dataclasses.fields(EVENTS[kind])}


@dataclass
class Event:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ts": round(self.ts, 3), **self.data}


def checked(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` as the dataclass of `kind` has it (TypeError/KeyError when it does not fit)."""
    payload = EVENTS[kind](**data)
    return {f.name: getattr(payload, f.name) for f in dataclasses.fields(payload)
            if getattr(payload, f.name) is not None}


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._delta_subscribers: list[Callable[[str], None]] = []

    def subscribe(self, fn: Subscriber) -> None:
        self._subscribers.append(fn)

    def subscribe_deltas(self, fn: Callable[[str], None]) -> None:
        self._delta_subscribers.append(fn)

    def delta(self, text: str) -> None:
        """Model text as it streams in, for live views only: not an event, never logged
        (the whole reply arrives as a `message` event)."""
        for fn in list(self._delta_subscribers):
            fn(text)

    def emit(self, kind: str, **data: Any) -> Event:
        event = Event(kind, checked(kind, data))
        for fn in list(self._subscribers):
            fn(event)
        return event

"""Core emits events; the session log and the UI subscribe. Nothing here renders.

Event kinds (the JSONL schema documented in the README): session_start, plan,
model_call, tool_call, tool_result, test_report, usage, checkpoint, rollback,
compaction, replan, warning, final.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

Subscriber = Callable[["Event"], None]


@dataclass
class Event:
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ts": round(self.ts, 3), **self.data}


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
        event = Event(kind, data)
        for fn in list(self._subscribers):
            fn(event)
        return event

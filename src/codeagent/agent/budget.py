"""Hard caps checked before every model call: steps, tokens, cost, wall time. Reaching
one is not a fault but the end of the loop: `exceeded` returns the reason, and
`deadline` is the instant a model call in flight must be cancelled at."""

from __future__ import annotations

import time
from dataclasses import dataclass

from codeagent.models.base import Usage


@dataclass
class Budget:
    max_steps: int
    max_tokens: int
    max_cost: float | None
    max_time: float
    started: float = 0.0
    spent_time: float = 0.0  # wall time spent before this process (a resumed run)

    def start(self) -> None:
        self.started = time.monotonic()

    def elapsed(self) -> float:
        return self.spent_time + (time.monotonic() - self.started if self.started else 0.0)

    def deadline(self) -> float:
        """The `time.monotonic()` instant at which the time budget runs out."""
        return (self.started or time.monotonic()) + self.max_time - self.spent_time

    def exceeded(self, usage: Usage, steps: int) -> tuple[str, str] | None:
        """(`budget:<which>` reason, message) when the next model call would break a cap."""
        if steps >= self.max_steps:
            return "budget:steps", f"step budget reached ({steps}/{self.max_steps} model calls)"
        if usage.total_tokens >= self.max_tokens:
            return "budget:tokens", f"token budget reached ({usage.total_tokens:,}/{self.max_tokens:,})"
        if self.max_cost is not None and usage.cost >= self.max_cost:
            return "budget:cost", f"cost budget reached (${usage.cost:.4f}/${self.max_cost:.2f})"
        if self.elapsed() >= self.max_time:
            return "budget:time", f"time budget reached ({self.elapsed():.0f}s/{self.max_time:.0f}s)"
        return None

    @staticmethod
    def time_message(max_time: float) -> str:
        return f"time budget reached during a model call ({max_time:.0f}s)"

"""Hard caps checked before every model call: steps, tokens, cost, wall time."""

from __future__ import annotations

import time
from dataclasses import dataclass

from codeagent.errors import BudgetExceeded
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

    def check(self, usage: Usage, steps: int) -> None:
        """Raise BudgetExceeded when the next model call would break a cap."""
        if steps >= self.max_steps:
            raise BudgetExceeded("steps", f"step budget reached ({steps}/{self.max_steps} model calls)")
        if usage.total_tokens >= self.max_tokens:
            raise BudgetExceeded("tokens", f"token budget reached ({usage.total_tokens:,}/{self.max_tokens:,})")
        if self.max_cost is not None and usage.cost >= self.max_cost:
            raise BudgetExceeded("cost", f"cost budget reached (${usage.cost:.4f}/${self.max_cost:.2f})")
        if self.elapsed() >= self.max_time:
            raise BudgetExceeded("time", f"time budget reached ({self.elapsed():.0f}s/{self.max_time:.0f}s)")

"""Detects a loop going nowhere: the same failing action repeated, runs of malformed
replies, or no progress for many steps. It only signals; the loop decides."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StuckDetector:
    repeat_limit: int = 3
    malformed_limit: int = 3
    no_progress_limit: int = 15
    _failures: dict[str, int] = field(default_factory=dict)
    _malformed_run: int = 0
    _since_progress: int = 0

    def action(self, signature: str, ok: bool, progress: bool) -> str | None:
        """Record one tool action. Returns a reason when the loop looks stuck."""
        self._malformed_run = 0
        self._since_progress = 0 if progress else self._since_progress + 1
        if ok:
            self._failures.pop(signature, None)
        else:
            self._failures[signature] = self._failures.get(signature, 0) + 1
            if self._failures[signature] >= self.repeat_limit:
                self._failures[signature] = 0
                return f"the same failing action was repeated {self.repeat_limit} times: {signature[:200]}"
        if self._since_progress >= self.no_progress_limit:
            self._since_progress = 0
            return f"no edit held and no test improved in {self.no_progress_limit} actions"
        return None

    def malformed(self) -> str | None:
        self._malformed_run += 1
        if self._malformed_run >= self.malformed_limit:
            self._malformed_run = 0
            return f"{self.malformed_limit} malformed replies in a row"
        return None

    def to_dict(self) -> dict:
        return {"failures": self._failures, "malformed_run": self._malformed_run, "since_progress": self._since_progress}

    def load(self, data: dict) -> None:
        self._failures = dict(data.get("failures", {}))
        self._malformed_run = data.get("malformed_run", 0)
        self._since_progress = data.get("since_progress", 0)

"""The plan: ordered steps, each with files and a done-when, and their status."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("pending", "in_progress", "done", "skipped")


@dataclass
class PlanStep:
    what: str
    files: list[str] = field(default_factory=list)
    done_when: str = ""
    status: str = "pending"


@dataclass
class Plan:
    steps: list[PlanStep] = field(default_factory=list)
    revision: int = 0
    kind: str = "plan"

    @classmethod
    def from_args(cls, raw_steps: Any, revision: int = 0) -> "Plan":
        """Build a plan from `update_plan` arguments; raises ValueError on a bad shape."""
        if not isinstance(raw_steps, list) or not raw_steps:
            raise ValueError("'steps' must be a non-empty list of {what, files, done_when, status}")
        steps = []
        for i, raw in enumerate(raw_steps, 1):
            if isinstance(raw, str):
                raw = {"what": raw}
            if not isinstance(raw, dict) or not str(raw.get("what", "")).strip():
                raise ValueError(f"step {i} needs a non-empty 'what'")
            status = raw.get("status") or "pending"
            if status not in STATUSES:
                raise ValueError(f"step {i}: status must be one of {', '.join(STATUSES)}")
            files = raw.get("files") or []
            if not isinstance(files, list):
                raise ValueError(f"step {i}: 'files' must be a list of paths")
            steps.append(PlanStep(str(raw["what"]), [str(f) for f in files], str(raw.get("done_when") or ""), status))
        return cls(steps, revision)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Plan":
        return cls([PlanStep(**s) for s in data.get("steps", [])], data.get("revision", 0))

    def render(self) -> str:
        marks = {"pending": "[ ]", "in_progress": "[>]", "done": "[x]", "skipped": "[-]"}
        lines = []
        for i, s in enumerate(self.steps, 1):
            extra = f" (files: {', '.join(s.files)})" if s.files else ""
            done = f" — done when: {s.done_when}" if s.done_when else ""
            lines.append(f"{marks[s.status]} {i}. {s.what}{extra}{done}")
        return "\n".join(lines) or "(no plan)"

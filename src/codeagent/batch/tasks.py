"""The batch task schema: one JSON object per line of a TASKS.jsonl file.

    {"id": "fix-add", "repo": "repos/calc", "instruction": "make test_add pass",
     "test_cmd": "python -m pytest -q", "horizon": "short", "attempts": 3,
     "max_steps": 20, "timeout": 600}

`load_tasks` validates every line on its own: a bad line becomes a `LineError` with
its line number and the valid lines still run. Relative local repo paths are resolved
against the folder of the tasks file. The field list (and the README table) is the
`BatchTask` model below.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from codeagent.errors import ConfigError

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
GIT_URL = re.compile(r"^(https?://|ssh://|git://|file://|git@[^:]+:)")

# Budget fields a task may set; they override the layered config for that task only.
BUDGET_FIELDS = ("max_steps", "max_tokens", "max_cost", "max_time")


class BatchTask(BaseModel):
    """One task. Unknown fields are refused so a typo never silently does nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field("batch_task", description="Always batch_task; may be omitted.")
    id: str = Field(description="Unique in the file; letters, digits, '.', '_', '-' (names folders).")
    repo: str = Field(description="A local path (relative to the tasks file) or a git URL.")
    commit: str | None = Field(None, description="Commit, tag or branch to check out; required for git URLs.")
    instruction: str = Field(min_length=1, description="What the agent should do.")
    test_cmd: str | None = Field(None, description="Command that runs the tests; detected when empty.")
    horizon: str | None = Field(None, description="Free label for grouping in eval, e.g. '1', 'short', 'long'.")
    attempts: int | None = Field(None, ge=1, le=100, description="Independent attempts; --attempts overrides.")
    timeout: float | None = Field(None, gt=0, description="Wall-clock seconds one attempt may take before it is killed.")
    max_steps: int | None = Field(None, ge=1, description="Budget: model calls.")
    max_tokens: int | None = Field(None, ge=1, description="Budget: prompt + completion tokens.")
    max_cost: float | None = Field(None, ge=0, description="Budget: USD.")
    max_time: float | None = Field(None, gt=0, description="Budget: seconds the agent loop may run.")
    scripted: str | None = Field(None, description="Bundled suites only: 'suite/script' names a ScriptedModel script.")
    expect: str | None = Field(None, description="Bundled suites only: the outcome the script leads to (done | not_done | error).")
    meta: dict[str, Any] = Field(default_factory=dict, description="Anything else; copied into each result.")

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value != "batch_task":
            raise ValueError("must be 'batch_task' when given")
        return value

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError("use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit")
        return value

    @field_validator("repo")
    @classmethod
    def _repo(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _git_url_needs_commit(self) -> "BatchTask":
        if self.is_remote and not self.commit:
            raise ValueError("a git URL repo needs 'commit' (a commit, tag or branch) so runs are reproducible")
        return self

    @property
    def is_remote(self) -> bool:
        return bool(GIT_URL.match(self.repo))

    def budgets(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in BUDGET_FIELDS if getattr(self, name) is not None}


@dataclass
class LineError:
    line: int
    message: str
    kind: str = "task_line_error"

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class TaskFile:
    path: Path
    tasks: list[BatchTask] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)


def load_tasks(path: Path, *, allow_scripted: bool = False) -> TaskFile:
    """Read and validate TASKS.jsonl. Raises ConfigError only when the file itself
    cannot be read; bad lines are collected in `errors`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such tasks file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read tasks file: {exc}") from None
    result = TaskFile(path=path)
    seen: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        task, message = parse_line(line, base=path.parent, allow_scripted=allow_scripted)
        if task is not None and task.id in seen:
            task, message = None, f"duplicate id {task.id!r} (first on line {seen[task.id]})"
        if task is None:
            result.errors.append(LineError(number, message))
            continue
        seen[task.id] = number
        result.tasks.append(task)
    return result


def parse_line(line: str, *, base: Path, allow_scripted: bool = False) -> tuple[BatchTask | None, str]:
    """One line -> (task, "") or (None, why it was refused)."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} (column {exc.colno})"
    if not isinstance(data, dict):
        return None, f"expected a JSON object, got {type(data).__name__}"
    try:
        task = BatchTask(**data)
    except ValidationError as exc:
        return None, _describe(exc)
    except TypeError as exc:  # e.g. a non-string key
        return None, str(exc)
    if (task.scripted or task.expect) and not allow_scripted:
        return None, "'scripted' and 'expect' are only accepted in bundled suites (codeagent eval --suite)"
    if not task.is_remote:
        repo = Path(task.repo).expanduser()
        task = task.model_copy(update={"repo": str(repo if repo.is_absolute() else (base / repo).resolve())})
    return task, ""


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        where = ".".join(str(p) for p in err["loc"]) or "task"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "missing":
            message = "required field is missing"
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def task_to_json(task: BatchTask) -> dict[str, Any]:
    return task.model_dump(exclude_none=True)

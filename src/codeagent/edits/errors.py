"""Faults raised by the edit engine. They hang under `CodeAgentError`:

    CodeAgentError
    ├── EditFormatError         the text claims to hold edits but is malformed (the loop turns it
    │                           into an observation; `codeagent apply` exits 2: the user's input)
    └── PathRefused             a path outside the workspace, through a symlink leaving it,
                                or inside .git/ (exit 1)

Matching failures are not faults: they come back as `EditResult(ok=False)`.
"""

from __future__ import annotations

from codeagent.errors import CodeAgentError


class PathRefused(CodeAgentError):
    """A path the engine will not read or write; `reason` says why in one line."""

    exit_code = 1

    def __init__(self, reason: str, *, path: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.path = path


class EditFormatError(CodeAgentError):
    """Edit text that is recognisably an edit format but malformed (e.g. SEARCH without REPLACE)."""

    exit_code = 2

    def __init__(self, message: str, *, line: int | None = None):
        where = f"line {line}: " if line else ""
        super().__init__(f"{where}{message}")
        self.line = line

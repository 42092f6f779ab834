"""The data the edit engine takes and returns: `Edit` in, `EditResult` per edit and one
`ApplyReport` per transaction out. All carry a `kind` tag and serialise unchanged."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

OPS = ("replace", "insert", "write", "create", "delete", "move")


@dataclass
class Edit:
    """One requested change to one file.

    op: replace (old -> new inside an existing file; old == "" on a missing file creates it),
    insert (`new` before line `line_hint`, or at the end when it is None), write (whole content, create or overwrite), create (whole content; refused if the file
    exists), delete, move (to `move_to`, after any earlier edits to `path`).
    """

    path: str
    op: str = "replace"
    old: str = ""
    new: str = ""
    replace_all: bool = False
    line_hint: int | None = None  # 1-based line where `old` starts (from a diff hunk header)
    anchor: str | None = None  # a line `old` follows (the `@@ text` of *** Begin Patch)
    move_to: str | None = None
    source: str = ""  # where the edit came from, e.g. "SEARCH/REPLACE block 2"
    kind: str = "edit"

    def label(self, index: int) -> str:
        what = self.source or self.op
        return f"edit {index + 1} ({what}, {self.path})"


@dataclass
class EditResult:
    """What happened to one edit. `message` is the observation the model reads."""

    ok: bool
    path: str
    message: str
    diff: str = ""
    layer: str = ""  # exact | whitespace | indentation | elision | fuzzy | line-hint | write | ...
    start_line: int | None = None  # first changed line (1-based) in the new file
    end_line: int | None = None
    kind: str = "edit_result"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ApplyReport:
    """The outcome of one transaction: every edit applied and written, or nothing written."""

    ok: bool
    results: list[EditResult] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)
    written: bool = False
    dry_run: bool = False
    kind: str = "apply_report"

    def describe(self) -> str:
        lines = [r.message for r in self.results]
        if not self.results:
            lines.append("no edits found")
        elif len(self.results) == 1 and not self.results[0].ok and not self.results[0].path:
            lines.append("nothing was written")
        elif self.ok and self.dry_run:
            lines.append(f"dry run: {len(self.files_changed)} file(s) would change; nothing written")
        elif self.ok:
            lines.append(f"applied {len(self.results)} edit(s) to {len(self.files_changed)} file(s)")
        else:
            failed = sum(not r.ok for r in self.results)
            lines.append(f"{failed} of {len(self.results)} edit(s) refused; nothing was written")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "ok": self.ok,
            "written": self.written,
            "dry_run": self.dry_run,
            "files_changed": list(self.files_changed),
            "results": [r.to_dict() for r in self.results],
        }

"""Executes the model's work tools against the workspace: reads, searches, edits,
commands, tests. Every failure becomes an `Observation` the model reads; nothing
here raises for a bad request. `update_plan` and `finish` are control tools the loop
handles itself."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codeagent.agent.testgate import TestGate
from codeagent.edits import EditEngine, PathRefused, resolve_in_workspace
from codeagent.edits.paths import display_path, resolve_for_tool
from codeagent.edits.reading import read_capped, walk_files
from codeagent.sandbox.base import Sandbox

SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache", ".pytest_cache", ".tox"}
READ_LINES = 400
MAX_OBSERVATION = 12_000


@dataclass
class Observation:
    text: str
    ok: bool = True
    progress: bool = False  # an edit held or the tests improved
    data: dict[str, Any] = field(default_factory=dict)


class ToolBox:
    def __init__(self, root: Path, sandbox: Sandbox, edits: EditEngine, tests: TestGate, outputs: Path,
                 *, max_file_bytes: int = 1_000_000, command_timeout: float = 300.0):
        self.root = Path(root)
        self.sandbox = sandbox
        self.edits = edits
        self.tests = tests
        self.outputs = Path(outputs)
        self.max_file_bytes = max_file_bytes
        self.command_timeout = command_timeout
        self._saved = 0

    def call(self, name: str, args: dict[str, Any]) -> Observation:
        handler = getattr(self, f"_tool_{name}", None)
        if handler is None:
            return Observation(f"unknown tool {name!r}", ok=False)
        try:
            obs = handler(**args)  # arguments were checked against the tool's schema (agent.validate)
        except PathRefused as exc:
            return Observation(f"{name} refused: {exc}", ok=False)
        obs.text = self.cap(obs.text)
        return obs

    def cap(self, text: str, limit: int = MAX_OBSERVATION) -> str:
        """Keep head and tail of a long observation; the whole text is saved to a file."""
        if len(text) <= limit:
            return text
        self.outputs.mkdir(parents=True, exist_ok=True)
        self._saved += 1
        path = self.outputs / f"output-{self._saved:04d}.txt"
        path.write_text(text, encoding="utf-8")
        head, tail = text[: limit // 3], text[-(2 * limit) // 3:]
        cut = len(text) - len(head) - len(tail)
        return f"{head}\n[... {cut} characters cut; full text in {path} (read_file can open it) ...]\n{tail}"

    # -- reading -------------------------------------------------------------------

    def _resolve_read(self, path: str) -> Path:
        return resolve_for_tool(self.root, path, outputs=self.outputs)

    def _tool_read_file(self, path: str, offset: int = 1, limit: int = READ_LINES) -> Observation:
        target = self._resolve_read(path)
        if not target.is_file():
            return Observation(f"no such file: {path}" + self._did_you_mean(path), ok=False)
        try:
            data = read_capped(target, self.max_file_bytes)
        except OSError as exc:
            return Observation(f"cannot read {path}: {exc.strerror}", ok=False)
        if len(data) > self.max_file_bytes:
            return Observation(f"{path} is {target.stat().st_size:,} bytes, over the read limit; "
                               "use search or run_command with head/sed", ok=False)
        if b"\0" in data[:8192]:
            return Observation(f"{path} is a binary file", ok=False)
        lines = data.decode("utf-8", "replace").splitlines()
        start = max(1, int(offset))
        chunk = lines[start - 1: start - 1 + max(1, int(limit))]
        body = "\n".join(f"{n:>5}\t{line}" for n, line in enumerate(chunk, start))
        more = start - 1 + len(chunk) < len(lines)
        note = f"\n[lines {start}-{start + len(chunk) - 1} of {len(lines)}; use offset to read more]" if more else ""
        return Observation(body + note if lines else f"{path} is empty")

    def _did_you_mean(self, path: str) -> str:
        name = Path(path).name
        hits = [p for p in self._walk(self.root) if Path(p).name == name][:5]
        return f"; files with that name: {', '.join(hits)}" if hits else ""

    def _walk(self, base: Path, glob: str | None = None):
        return walk_files(self.root, base, glob, SKIP_DIRS)

    def _tool_list_files(self, path: str = ".", pattern: str | None = None) -> Observation:
        base = resolve_in_workspace(self.root, path, for_write=False)
        if not base.is_dir():
            return Observation(f"not a directory: {path}", ok=False)
        files = list(self._walk(base, pattern))
        shown = files[:500]
        more = f"\n[{len(files) - 500} more not shown]" if len(files) > 500 else ""
        return Observation("\n".join(shown) + more if files else "(no files)")

    def _tool_search(self, pattern: str, path: str = ".", glob: str | None = None) -> Observation:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            return Observation(f"bad regular expression: {exc}", ok=False)
        base = resolve_in_workspace(self.root, path, for_write=False)
        files = [display_path(self.root, base)] if base.is_file() else list(self._walk(base, glob))
        hits: list[str] = []
        for rel in files:
            try:
                text = read_capped(resolve_in_workspace(self.root, rel, for_write=False), self.max_file_bytes)
            except (OSError, PathRefused):
                continue
            if len(text) > self.max_file_bytes:
                continue
            if b"\0" in text[:8192]:
                continue
            for n, line in enumerate(text.decode("utf-8", "replace").splitlines(), 1):
                if regex.search(line):
                    hits.append(f"{rel}:{n}: {line.strip()[:200]}")
                    if len(hits) >= 200:
                        return Observation("\n".join(hits) + "\n[stopped at 200 matches; narrow the search]")
        return Observation("\n".join(hits) if hits else f"no matches for {pattern!r}")

    # -- changing ------------------------------------------------------------------

    def _tool_edit_file(self, path: str, old: str, new: str, replace_all: bool = False) -> Observation:
        result = self.edits.edit(path, old, new, replace_all=bool(replace_all))
        return Observation(result.message, ok=result.ok, progress=result.ok, data={"path": path})

    def _tool_write_file(self, path: str, content: str) -> Observation:
        result = self.edits.write(path, content)
        return Observation(result.message, ok=result.ok, progress=result.ok, data={"path": path})

    def _tool_run_command(self, command: str, timeout: float | None = None) -> Observation:
        limit = min(float(timeout), self.command_timeout) if timeout else self.command_timeout
        result = self.sandbox.run(command, timeout=limit)
        return Observation(result.describe(), ok=result.ok, data={"exit_code": result.exit_code})

    def _tool_run_tests(self, selection: list[str] | None = None) -> Observation:
        if not self.tests.available:
            return Observation("no test command is configured for this project; check your change with "
                               "run_command instead", ok=False)
        outcome = self.tests.run(selection or None)
        return Observation(outcome.text, ok=outcome.ok, progress=outcome.improved,
                           data={"report": outcome.report.summary(), "regressions": outcome.diff.regressions})

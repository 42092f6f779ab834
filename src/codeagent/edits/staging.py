"""One transaction's staging area: files are read once, every edit is applied to the
in-memory text in order, and nothing touches the disk until the engine commits. Each
`stage_*` method returns the EditResult the model reads."""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from codeagent.edits import feedback, textfile
from codeagent.edits.data import Edit, EditResult
from codeagent.edits.errors import PathRefused
from codeagent.edits.lines import common_ends
from codeagent.edits.markers import lost_lines
from codeagent.edits.matching import Miss, locate
from codeagent.edits.paths import display_path, resolve_in_workspace


HUNK_HEADER = re.compile(r"([-+])(\d+)(?=[, ])")


def _clean(text: str | None) -> bool:
    """Whether no line of `text` (which ends with a newline) has trailing spaces or tabs."""
    return not text or (" \n" not in text and "\t\n" not in text)


@dataclass
class Staged:
    """A file as the transaction sees it; `text` None means absent (missing or deleted)."""

    real: Path
    rel: str
    original: bytes | None  # bytes on disk before the transaction, None if absent
    style: textfile.TextFile
    before: str | None  # text before the transaction
    text: str | None
    edits: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.text != self.before or (self.text is None) != (self.original is None)


class Refused(Exception):
    """Internal: ends one edit's staging with a failure message."""


class Transaction:
    def __init__(self, root: Path, max_file_bytes: int):
        self.root = root
        self.max_file_bytes = max_file_bytes
        self.files: dict[Path, Staged] = {}

    def stage(self, index: int, edit: Edit) -> EditResult:
        label = edit.label(index)
        try:
            handler = getattr(self, f"_stage_{edit.op}", None)
            if handler is None:
                raise Refused(f"{label} was not applied: unknown operation {edit.op!r}.")
            return handler(index, edit, label)
        except PathRefused as exc:
            return EditResult(False, edit.path, f"{label} was not applied: {exc.reason}.")
        except Refused as exc:
            return EditResult(False, edit.path, str(exc))

    # -- loading --------------------------------------------------------------

    def load(self, rel: str, label: str) -> Staged:
        real = resolve_in_workspace(self.root, rel, for_write=True)
        if real in self.files:
            return self.files[real]
        shown = display_path(self.root, real)
        if not real.exists():
            staged = Staged(real, shown, None, textfile.new_file(), None, None)
        else:
            size = real.stat().st_size
            if size > self.max_file_bytes:
                raise Refused(f"{label} was not applied: {shown} is {size:,} bytes, over the "
                              f"{self.max_file_bytes:,}-byte limit for editing.")
            try:
                data, style = textfile.read(real)
            except textfile.NotText as exc:
                raise Refused(f"{label} was not applied: {shown} is not a text file ({exc}).") from None
            text = _with_final_newline(style.text)
            staged = Staged(real, shown, data, style, text, text)
        self.files[real] = staged
        return staged

    def _existing(self, edit: Edit, label: str) -> Staged:
        staged = self.load(edit.path, label)
        if staged.text is None:
            hint = "" if staged.original is not None else feedback.missing_file(self.root, edit.path)
            raise Refused(f"{label} was not applied: {staged.rel} does not exist.{hint}")
        return staged

    # -- operations -------------------------------------------------------------

    def _stage_replace(self, index: int, edit: Edit, label: str) -> EditResult:
        staged = self.load(edit.path, label)
        if edit.old == "":
            return self._fill_empty(index, edit, label, staged)
        staged = self._existing(edit, label)
        text = staged.text
        old, new = edit.old, edit.new
        folded = False
        if "\r" not in text:
            folded = "\r\n" in old
            old, new = old.replace("\r\n", "\n"), new.replace("\r\n", "\n")
        if old == new:
            return EditResult(True, staged.rel, f"No change to {staged.rel}: old and new are identical.", layer="none")
        _refuse_lost_lines(old, new, label, "new", "old")
        found = locate(text, old, new, replace_all=edit.replace_all, line_hint=edit.line_hint, anchor=edit.anchor)
        if isinstance(found, Miss):
            message = feedback.miss(label, staged.rel, found, text, old, from_tool=edit.source == "edit_file")
            return EditResult(False, staged.rel, message, layer=found.layer)
        clean = _clean(staged.before)
        for match in sorted(found, key=lambda m: m.start, reverse=True):
            replacement = _strip_trailing(match.replacement, text[match.end : match.end + 1]) if clean else match.replacement
            text = text[: match.start] + replacement + text[match.end :]
        layer = "whitespace" if folded and found[0].layer == "exact" else found[0].layer
        first = found[0]
        new_count = first.replacement.count("\n") + (0 if first.replacement.endswith("\n") else 1)
        new_count = 0 if not first.replacement else new_count
        message = feedback.applied(staged.rel, layer, first.line + 1, first.count, new_count)
        if len(found) > 1:
            message += f" Replaced {len(found)} occurrences."
        return self._commit_text(index, staged, text, message, layer, first.line + 1, first.line + max(new_count, 1))

    def _fill_empty(self, index: int, edit: Edit, label: str, staged: Staged) -> EditResult:
        if staged.text:
            raise Refused(f"{label} was not applied: old is empty but {staged.rel} already has content; "
                          "give the exact text to replace (or write the whole file with write_file).")
        verb = "Created" if staged.text is None else "Filled"
        new = edit.new
        return self._commit_text(index, staged, new, f"{verb} {staged.rel} ({_count(new)} lines).", "create", 1, _count(new))

    def _stage_insert(self, index: int, edit: Edit, label: str) -> EditResult:
        staged = self._existing(edit, label)
        lines = staged.text.split("\n")[:-1] if staged.text else []
        at = len(lines) + 1 if edit.line_hint is None else edit.line_hint
        if not 1 <= at <= len(lines) + 1:
            raise Refused(f"{label} was not applied: line {at} is outside {staged.rel} ({len(lines)} lines).")
        added = _with_final_newline(edit.new.replace("\r\n", "\n")).split("\n")[:-1]
        if _clean(staged.before):
            added = [line.rstrip(" \t") for line in added]
        text = "".join(line + "\n" for line in lines[: at - 1] + added + lines[at - 1 :])
        message = f"Edited {staged.rel}: inserted {len(added)} line(s) at line {at}."
        return self._commit_text(index, staged, text, message, "line-hint", at, at + len(added) - 1)

    def _stage_write(self, index: int, edit: Edit, label: str) -> EditResult:
        staged = self.load(edit.path, label)
        if staged.text:
            _refuse_lost_lines(staged.text, edit.new, label, "the new content", staged.rel)
        verb = "Created" if staged.text is None else "Wrote"
        staged.style = dataclasses.replace(staged.style, trailing_newline=True)
        content = edit.new.replace("\r\n", "\n") if staged.style.newline == "\r\n" else edit.new
        return self._commit_text(index, staged, content, f"{verb} {staged.rel} ({_count(content)} lines).",
                                 "write", 1, _count(content))

    def _stage_create(self, index: int, edit: Edit, label: str) -> EditResult:
        staged = self.load(edit.path, label)
        if staged.text is not None:
            raise Refused(f"{label} was not applied: {staged.rel} already exists; edit it instead of adding it.")
        content = edit.new
        return self._commit_text(index, staged, content, f"Created {staged.rel} ({_count(content)} lines).",
                                 "create", 1, _count(content))

    def _stage_delete(self, index: int, edit: Edit, label: str) -> EditResult:
        staged = self._existing(edit, label)
        staged.edits.append(index)
        diff = _diff(staged.rel, staged.text, "")
        staged.text = None
        return EditResult(True, staged.rel, f"Deleted {staged.rel}.", diff=diff, layer="delete")

    def _stage_move(self, index: int, edit: Edit, label: str) -> EditResult:
        source = self._existing(edit, label)
        if not edit.move_to:
            raise Refused(f"{label} was not applied: a move needs a destination.")
        dest = self.load(edit.move_to, label)
        if dest.text is not None:
            raise Refused(f"{label} was not applied: cannot move {source.rel} to {dest.rel}, which already exists.")
        dest.style = dataclasses.replace(source.style)
        dest.text, source.text = source.text, None
        source.edits.append(index)
        dest.edits.append(index)
        return EditResult(True, dest.rel, f"Moved {source.rel} to {dest.rel}.", layer="move")

    def _commit_text(self, index, staged, text, message, layer, first, last) -> EditResult:
        before = staged.text or ""
        staged.text = text
        staged.edits.append(index)
        return EditResult(True, staged.rel, message, _diff(staged.rel, before, text), layer, first, last)


def _diff(rel: str, before: str, after: str) -> str:
    """Unified diff of the change, computed on the differing middle only (files can be large)."""
    a, b = before.splitlines(True), after.splitlines(True)
    head, tail = common_ends(a, b)
    lo = max(0, head - 3)
    lines = difflib.unified_diff(a[lo : len(a) - max(0, tail - 3)], b[lo : len(b) - max(0, tail - 3)],
                                 f"a/{rel}", f"b/{rel}")
    out = []
    for line in lines:
        if line.startswith("@@"):
            line = HUNK_HEADER.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + lo}", line)
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _refuse_lost_lines(old: str, new: str, label: str, new_name: str, old_name: str) -> None:
    """Refuse when a marker such as `# ... rest unchanged` in `new` would replace lines of `old` (markers.py)."""
    loss = lost_lines(old, new)
    if loss is None:
        return
    advice = ("Write out those lines in new, or put the same marker line in old too: there it stands for the "
              "same unchanged lines of the file." if old_name == "old" else
              "write_file writes its content as it is: write out those lines in full, or change only the part "
              "you mean with edit_file.")
    raise Refused(f"{label} was not applied: {loss.describe(new_name, old_name)}. {advice} Nothing was changed.")


def _strip_trailing(replacement: str, after: str) -> str:
    """Drop trailing spaces and tabs the new text adds at line ends (for files that have none)."""
    parts = replacement.split("\n")
    last = len(parts) - 1 if after in ("\n", "") else len(parts) - 2
    return "\n".join(part.rstrip(" \t") if k <= last else part for k, part in enumerate(parts))


def _with_final_newline(text: str) -> str:
    return text + "\n" if text and not text.endswith("\n") else text


def _count(text: str) -> int:
    return text.count("\n") + (0 if not text or text.endswith("\n") else 1)

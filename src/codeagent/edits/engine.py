"""The edit engine: the one way codeagent changes files in a workspace. A batch of
edits is staged in memory, checked (paths, size, encoding, syntax), then written
atomically, all of it or none of it. Failures come back as results the model can act
on, never as exceptions (only an unknown format name, a usage mistake, raises)."""

from __future__ import annotations

import os
from pathlib import Path

from codeagent.edits import textfile
from codeagent.edits.data import ApplyReport, Edit, EditResult
from codeagent.edits.errors import EditFormatError
from codeagent.edits.formats import FORMAT_NAMES, parse_edits
from codeagent.edits.staging import Staged, Transaction
from codeagent.edits.validate import new_problem

NOT_WRITTEN = "Not written (another edit in this batch was refused): "


class EditEngine:
    def __init__(
        self, root: Path, *, validate_syntax: bool = True, max_file_bytes: int = 1_000_000, durable: bool = True
    ):
        """durable: fsync each file before renaming it into place (survives power loss, costs a disk flush)."""
        self.root = Path(os.path.realpath(root))
        self.durable = durable
        self.validate_syntax = validate_syntax
        self.max_file_bytes = max_file_bytes

    def edit(self, path: str, old: str, new: str, replace_all: bool = False, *, dry_run: bool = False) -> EditResult:
        """The `edit_file` tool: replace `old` with `new` (old == "" on a missing file creates it)."""
        edit = Edit(path, "replace", old, new, replace_all=replace_all, source="edit_file")
        return self.apply([edit], dry_run=dry_run).results[0]

    def write(self, path: str, content: str, *, dry_run: bool = False) -> EditResult:
        """The `write_file` tool: create or overwrite `path` with `content`."""
        return self.apply([Edit(path, "write", new=content, source="write_file")], dry_run=dry_run).results[0]

    def apply_text(self, text: str, fmt: str = "auto", dry_run: bool = False) -> ApplyReport:
        """Parse edits from a model's reply in any supported format and apply them as one batch."""
        if fmt not in FORMAT_NAMES:
            raise EditFormatError(f"unknown edit format {fmt!r}; choose one of: {', '.join(FORMAT_NAMES)}")
        try:
            edits = parse_edits(text, fmt)
        except EditFormatError as exc:
            return ApplyReport(False, [EditResult(False, "", f"The edit text is malformed: {exc}. Nothing was changed.")],
                               dry_run=dry_run)
        if not edits:
            message = ("No edits found. Write SEARCH/REPLACE blocks after the file name, a unified diff, "
                       "or a '*** Begin Patch' ... '*** End Patch' envelope.")
            return ApplyReport(False, [EditResult(False, "", message)], dry_run=dry_run)
        return self.apply(edits, dry_run=dry_run)

    def apply(self, edits: list[Edit], dry_run: bool = False) -> ApplyReport:
        """Apply every edit or none: stage all, check all, then write all atomically."""
        tx = Transaction(self.root, self.max_file_bytes)
        results = [tx.stage(i, edit) for i, edit in enumerate(edits)]
        payloads: list[tuple[Staged, bytes | None]] = []
        if all(r.ok for r in results):
            payloads = self._check(tx, edits, results)
        changed = sorted(s.rel for s in tx.files.values() if s.changed)
        if not all(r.ok for r in results):
            for r in results:
                if r.ok:
                    r.message = NOT_WRITTEN + r.message
            return ApplyReport(False, results, changed, written=False, dry_run=dry_run)
        if dry_run or not payloads:
            return ApplyReport(True, results, changed, written=False, dry_run=dry_run)
        error = _commit(payloads, self.durable)
        if error:
            return ApplyReport(False, [*results, EditResult(False, "", error)], changed, written=False)
        return ApplyReport(True, results, changed, written=True)

    def _check(self, tx: Transaction, edits: list[Edit], results: list[EditResult]) -> list[tuple[Staged, bytes | None]]:
        """Encode every changed file and validate its syntax; a failure lands on the file's last edit."""
        payloads = []
        for staged in tx.files.values():
            if not staged.changed:
                continue
            if staged.text is None:
                payloads.append((staged, None))
                continue
            last = staged.edits[-1]
            problem = self._problem(staged)
            if problem:
                results[last] = EditResult(False, staged.rel, f"{edits[last].label(last)} was not applied: {problem}",
                                           diff=results[last].diff, layer=results[last].layer)
                continue
            payloads.append((staged, staged.style.encode(staged.text)))
        return payloads

    def _problem(self, staged: Staged) -> str | None:
        try:
            data = staged.style.encode(staged.text)
        except UnicodeEncodeError as exc:
            return f"the new text cannot be encoded in {staged.rel}'s encoding ({staged.style.encoding}): {exc.reason}."
        if len(data) > self.max_file_bytes:
            return f"{staged.rel} would be {len(data):,} bytes, over the {self.max_file_bytes:,}-byte limit."
        if self.validate_syntax:
            found = new_problem(staged.rel, staged.before, staged.text)
            if found:
                return (f"it would leave {staged.rel} with a {found.what} the file did not have, "
                        f"at line {found.line}:\n{found.snippet}\nFix the edit so the file still parses; nothing was changed.")
        return None


def _commit(payloads: list[tuple[Staged, bytes | None]], durable: bool) -> str | None:
    """Write new contents, then delete removed files; on an OS error restore what was done."""
    done: list[Staged] = []
    ordered = [p for p in payloads if p[1] is not None] + [p for p in payloads if p[1] is None]
    try:
        for staged, data in ordered:
            if data is None:
                staged.real.unlink()
            else:
                textfile.write_atomic(staged.real, data, staged.style.mode, durable=durable)
            done.append(staged)
    except OSError as exc:
        for staged in reversed(done):
            _restore(staged)
        return f"Could not write {staged.rel}: {exc}. Files already written were restored; nothing changed."
    return None


def _restore(staged: Staged) -> None:
    try:
        if staged.original is None:
            staged.real.unlink(missing_ok=True)
        else:
            textfile.write_atomic(staged.real, staged.original, staged.style.mode)
    except OSError:
        pass

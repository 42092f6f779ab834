"""The multi-file patch envelope some models are trained to emit:

    *** Begin Patch
    *** Add File: path            every following line starts with '+'
    *** Delete File: path
    *** Update File: path
    *** Move to: new/path         optional, right after Update
    @@ def handler():             optional anchor: the change follows this line
     context
    -removed
    +added
    *** End of File               optional
    *** End Patch

Each `@@` starts a chunk; a chunk becomes one replace edit carrying its anchor."""

from __future__ import annotations

import re

from codeagent.edits.data import Edit
from codeagent.edits.errors import EditFormatError

BEGIN, END = "*** Begin Patch", "*** End Patch"
FILE_OP = re.compile(r"^\*\*\* (Add|Delete|Update) File:\s*(.+?)\s*$")
MOVE = re.compile(r"^\*\*\* Move to:\s*(.+?)\s*$")


def detect(text: str) -> int | None:
    """Index of the first line that opens a patch, or None."""
    return next((i for i, line in enumerate(text.split("\n")) if line.strip() == BEGIN), None)


def parse(text: str) -> list[Edit]:
    lines = text.replace("\r\n", "\n").split("\n")
    edits: list[Edit] = []
    i = 0
    while i < len(lines):
        if lines[i].strip() != BEGIN:
            i += 1
            continue
        i += 1
        while i < len(lines) and lines[i].strip() != END:
            op = FILE_OP.match(lines[i].rstrip())
            if not op:
                if lines[i].strip() and not lines[i].strip().startswith("```"):
                    raise EditFormatError(f"expected '*** Add/Update/Delete File:', got {lines[i].strip()[:60]!r}", line=i + 1)
                i += 1
                continue
            i = _operation(lines, i, op.group(1), op.group(2), edits)
        if i >= len(lines):
            raise EditFormatError("'*** Begin Patch' without '*** End Patch'", line=len(lines))
        i += 1
    return edits


def _operation(lines: list[str], i: int, op: str, path: str, edits: list[Edit]) -> int:
    """Parse one Add/Delete/Update section starting at its header; returns the next index."""
    i += 1
    if op == "Delete":
        edits.append(Edit(path, "delete", source="patch Delete File"))
        return i
    end = i
    while end < len(lines) and not _section_end(lines[end]):
        end += 1
    body = lines[i:end]
    if op == "Add":
        bad = [k for k, line in enumerate(body) if line and not line.startswith("+")]
        if bad:
            raise EditFormatError(f"every line of an added file must start with '+' ({path})", line=i + bad[0] + 1)
        edits.append(Edit(path, "create", new="".join(line[1:] + "\n" for line in body), source="patch Add File"))
        return end
    moves = [MOVE.match(line) for line in body if MOVE.match(line)]
    body = [line for line in body if not MOVE.match(line)]
    _chunks(path, body, i, edits)
    if moves:
        edits.append(Edit(path, "move", move_to=moves[-1].group(1), source="patch Move to"))
    return end


def _section_end(line: str) -> bool:
    return line.startswith("*** ") and line.strip() != "*** End of File" and not MOVE.match(line)


def _chunks(path: str, body: list[str], first_line: int, edits: list[Edit]) -> None:
    """One replace edit per `@@` chunk that changes something."""
    anchor: str | None = None
    chunk: list[tuple[str, str]] = []
    count = 0
    for offset, line in enumerate(body + ["@@"]):
        if line.startswith("@@"):
            while chunk and chunk[-1][0] == "":
                chunk.pop()
            if any(sign in ("-", "+") for sign, _ in chunk):
                count += 1
                edits.append(_chunk_edit(path, chunk, anchor, count))
            chunk = []
            anchor = line[2:].strip() or anchor
        elif line.strip() == "*** End of File":
            continue
        elif line == "":
            chunk.append(("", ""))
        elif line[0] in " -+":
            chunk.append((line[0], line[1:]))
        else:
            raise EditFormatError(
                f"patch line must start with ' ', '-', '+' or '@@': {line[:60]!r}", line=first_line + offset + 1
            )


def _chunk_edit(path: str, chunk: list[tuple[str, str]], anchor: str | None, count: int) -> Edit:
    old = "".join(text + "\n" for sign, text in chunk if sign in ("", " ", "-"))
    new = "".join(text + "\n" for sign, text in chunk if sign in ("", " ", "+"))
    source = f"patch Update File chunk {count}"
    if old:
        return Edit(path, "replace", old, new, anchor=anchor, source=source)
    if anchor:
        head = anchor.strip() + "\n"
        return Edit(path, "replace", head, head + new, anchor=anchor, source=source)
    return Edit(path, "insert", new=new, source=source)

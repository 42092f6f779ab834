"""Unified diffs (`diff -u`, `git diff`, and the loose ones models write): file
headers with or without a/ b/ prefixes, /dev/null for created and deleted files,
git rename headers, and hunks whose line numbers and counts may be wrong. The body
of a hunk decides; its header only supplies a line hint used to tell apart
identical candidates, and only when its counts agree with the body (a header with
wrong counts was guessed, so its line numbers are not trusted either)."""

from __future__ import annotations

import re

from codeagent.edits.data import Edit
from codeagent.edits.errors import EditFormatError

HUNK = re.compile(r"^@@+\s*(?:-(\d+)(?:,(\d+))?\s+\+(\d+)(?:,(\d+))?)?\s*(?:@@+.*)?$")
DEV_NULL = "/dev/null"


def detect(text: str) -> int | None:
    """Index of the first `---` / `+++` header pair, or None."""
    lines = text.split("\n")
    return next((i for i, line in enumerate(lines)
                 if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")), None)


def parse(text: str) -> list[Edit]:
    lines = text.replace("\r\n", "\n").split("\n")
    edits: list[Edit] = []
    rename: tuple[str, str] | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("diff --git "):
            rename = None
        elif line.startswith("rename from "):
            rename = (line[len("rename from "):].strip(), "")
        elif line.startswith("rename to ") and rename:
            rename = (rename[0], line[len("rename to "):].strip())
            if i + 1 >= len(lines) or not lines[i + 1].startswith(("--- ", "diff --git")):
                edits.append(Edit(rename[0], "move", move_to=rename[1], source="unified diff rename"))
                rename = None
        elif line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            i = _file(lines, i, edits, rename)
            rename = None
            continue
        i += 1
    return edits


def _path(header: str, prefix: str) -> str:
    name = header[4:].split("\t")[0].strip()
    if name != DEV_NULL and name.startswith(prefix):
        name = name[len(prefix):]
    return name


def _file(lines: list[str], i: int, edits: list[Edit], rename: tuple[str, str] | None) -> int:
    """Parse one file's headers and hunks starting at its `---` line; returns the next index."""
    old_path, new_path = _path(lines[i], "a/"), _path(lines[i + 1], "b/")
    i += 2
    hunks = []
    while i < len(lines) and HUNK.match(lines[i]):
        header = HUNK.match(lines[i])
        count = int(header.group(2)) if header.group(2) else (1 if header.group(1) else None)
        body, i = _body(lines, i + 1, count)
        if not body:
            raise EditFormatError(f"hunk for {new_path} has no lines", line=i)
        hunks.append((header, body))
    if not hunks and old_path != DEV_NULL and new_path != DEV_NULL:
        raise EditFormatError(f"diff for {new_path} has no @@ hunk", line=i)
    target = old_path if new_path == DEV_NULL else new_path
    if new_path == DEV_NULL:
        edits.append(Edit(old_path, "delete", source="unified diff"))
    elif old_path == DEV_NULL:
        content = "".join(text + "\n" for _, body in hunks for sign, text in body if sign == "+")
        edits.append(Edit(new_path, "create", new=content, source="unified diff (new file)"))
    else:
        source = rename[0] if rename and rename[1] else target
        _hunk_edits(source, hunks, edits)
        if rename and rename[1]:
            edits.append(Edit(rename[0], "move", move_to=rename[1], source="unified diff rename"))
    return i


def _body(lines: list[str], i: int, old_count: int | None) -> tuple[list[tuple[str, str]], int]:
    """Hunk lines as (sign, text) up to the next hunk, file or non-diff line. An empty
    line is a blank context line unless it ends the hunk (then it only separates). While
    the header's old count is not reached, a line without a prefix is taken as context
    (models often drop the leading space)."""
    body: list[tuple[str, str]] = []
    while i < len(lines):
        line = lines[i]
        if line.startswith("@@") or line.startswith("diff --git"):
            break
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            break
        if line == "":
            body.append(("", ""))
        elif line[0] in " -+":
            body.append((line[0], line[1:]))
        elif line.startswith("\\"):
            pass
        elif old_count is not None and sum(sign != "+" for sign, _ in body) < old_count and not line.startswith("```"):
            body.append((" ", line))
        else:
            break
        i += 1
    while body and body[-1][0] == "":
        body.pop()
    return [(sign or " ", text) for sign, text in body], i


def _hunk_edits(path: str, hunks, edits: list[Edit]) -> None:
    delta = 0
    for number, (header, body) in enumerate(hunks, 1):
        old = "".join(text + "\n" for sign, text in body if sign in " -")
        new = "".join(text + "\n" for sign, text in body if sign in " +")
        start = int(header.group(1)) if header.group(1) else None
        source = f"unified diff hunk {number}"
        counts_right = start is not None and _count(header, 2) == old.count("\n") and _count(header, 4) == new.count("\n")
        if not old:
            if start is None:
                raise EditFormatError(f"{source} of {path} adds lines without context or a line number")
            edits.append(Edit(path, "insert", new=new, line_hint=start + 1 + delta, source=source))
        else:
            hint = max(1, start) + delta if counts_right else None  # wrong counts: numbers untrusted
            edits.append(Edit(path, "replace", old, new, line_hint=hint, source=source))
        delta += new.count("\n") - old.count("\n")


def _count(header: re.Match, group: int) -> int:
    return int(header.group(group)) if header.group(group) is not None else 1

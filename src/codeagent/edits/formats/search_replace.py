"""SEARCH/REPLACE blocks as models write them in plain text:

    path/to/file.py
    ```python
    <<<<<<< SEARCH
    old lines
    =======
    new lines
    >>>>>>> REPLACE
    ```

The file name is the nearest non-blank, non-fence line above the block (inside or
outside the fence); a block without one reuses the previous block's file. An empty
SEARCH creates a file."""

from __future__ import annotations

import re

from codeagent.edits.data import Edit
from codeagent.edits.errors import EditFormatError

HEAD = re.compile(r"^\s*<{5,9}\s?SEARCH\b")
DIVIDER = re.compile(r"^\s*={5,9}\s*$")
TAIL = re.compile(r"^\s*>{5,9}\s?REPLACE\b")
FENCE = re.compile(r"^\s*(```|~~~)")


def detect(text: str) -> int | None:
    """Index of the first SEARCH line, or None."""
    return next((i for i, line in enumerate(text.split("\n")) if HEAD.match(line)), None)


def parse(text: str) -> list[Edit]:
    lines = text.replace("\r\n", "\n").split("\n")
    edits: list[Edit] = []
    path: str | None = None
    i = 0
    while i < len(lines):
        if not HEAD.match(lines[i]):
            i += 1
            continue
        path = _filename_above(lines, i) or path
        if not path:
            raise EditFormatError("SEARCH/REPLACE block has no file name on the line before it", line=i + 1)
        old, i = _collect(lines, i + 1, DIVIDER, "=======", i)
        new, i = _collect(lines, i + 1, TAIL, ">>>>>>> REPLACE", i)
        edits.append(Edit(path, "replace", old, new, source=f"SEARCH/REPLACE block {len(edits) + 1}"))
        i += 1
    return edits


def _collect(lines: list[str], start: int, end: re.Pattern, name: str, head: int) -> tuple[str, int]:
    for j in range(start, len(lines)):
        if end.match(lines[j]):
            body = lines[start:j]
            return ("\n".join(body) + "\n" if body else ""), j
        if HEAD.match(lines[j]):
            break
    raise EditFormatError(f"SEARCH/REPLACE block is missing its {name!r} line", line=head + 1)


def _filename_above(lines: list[str], head: int) -> str | None:
    for j in range(head - 1, max(-1, head - 4), -1):
        line = lines[j].strip()
        if not line or FENCE.match(line):
            continue
        if TAIL.match(line):
            return None
        return _as_path(line)
    return None


def _as_path(line: str) -> str | None:
    name = line.strip().strip("*`'\"").rstrip(":").strip()
    name = re.sub(r"^(#+|file:|path:|filename:)\s*", "", name, flags=re.I).strip("*`'\" ")
    if not name or " " in name or not re.search(r"[\w]", name):
        return None
    return name

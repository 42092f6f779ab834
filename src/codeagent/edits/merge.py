"""Building the replacement for a line-based match: lines the model kept are written
back exactly as the file has them; lines it added or changed are moved from the
model's indentation to the file's and lose trailing whitespace."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from codeagent.edits.lines import Lines, base_indent, reindent

if TYPE_CHECKING:
    from codeagent.edits.matching import Match


def merge_lines(old_lines: list[str], new_lines: list[str], window: list[str]) -> list[str]:
    """The file's version of `new_lines`, given that `old_lines` matched `window` line for line."""
    model_base, file_base = base_indent(old_lines), base_indent(window)
    matcher = difflib.SequenceMatcher(
        None, [line.rstrip() for line in old_lines], [line.rstrip() for line in new_lines], autojunk=False
    )
    out: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(window[i1:i2])
        elif tag in ("replace", "insert"):
            out.extend(reindent(line.rstrip(), model_base, file_base) for line in new_lines[j1:j2])
    return out


def keep_file_whitespace(old_lines: list[str], new_lines: list[str]) -> list[str]:
    """For an exact match: a line the model kept (equal but for trailing whitespace) takes
    the shorter of its two versions, so copied context never gains trailing spaces while
    an edit that strips them still does."""
    matcher = difflib.SequenceMatcher(
        None, [line.rstrip() for line in old_lines], [line.rstrip() for line in new_lines], autojunk=False
    )
    out: list[str] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out.extend(min(a, b, key=len) for a, b in zip(old_lines[i1:i2], new_lines[j1:j2]))
        elif tag in ("replace", "insert"):
            out.extend(new_lines[j1:j2])
    return out


def line_match(lines: Lines, first: int, old_lines: list[str], new_lines: list[str], layer: str) -> "Match":
    from codeagent.edits.matching import Match

    n = len(old_lines)
    body = merge_lines(old_lines, new_lines, lines.items[first : first + n])
    start, end = lines.span(first, n)
    return Match(start, end, "".join(line + "\n" for line in body), layer, first, n)

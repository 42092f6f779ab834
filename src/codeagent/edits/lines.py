"""Line helpers shared by the matching layers: splitting text into lines with their
offsets, indentation bases, and re-indenting replacement lines."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class Lines:
    """A text split on "\\n" only (never on other Unicode breaks), with start offsets."""

    text: str
    items: list[str]  # lines without their "\n"
    starts: list[int]  # offset of each line; starts[len] == len(text)

    @classmethod
    def of(cls, text: str) -> "Lines":
        items = text.split("\n")
        if items and items[-1] == "":
            items.pop()
        starts, pos = [], 0
        for item in items:
            starts.append(pos)
            pos += len(item) + 1
        starts.append(min(pos, len(text)))
        return cls(text, items, starts)

    def span(self, first: int, count: int) -> tuple[int, int]:
        """Character span of lines [first, first+count), newlines included."""
        return self.starts[first], self.starts[first + count]

    def line_of(self, offset: int) -> int:
        """0-based line index holding character `offset`."""
        lo, hi = 0, len(self.items)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.starts[mid + 1] <= offset:
                lo = mid + 1
            else:
                hi = mid
        return lo


def block_lines(text: str) -> list[str]:
    """A model's old/new text as lines: CRLF folded, one final newline dropped."""
    text = text.replace("\r\n", "\n")
    if not text:
        return []
    return (text[:-1] if text.endswith("\n") else text).split("\n")


def indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def base_indent(lines: list[str]) -> str:
    """The leading whitespace every non-blank line shares."""
    heads = [indent_of(line) for line in lines if line.strip()]
    return os.path.commonprefix(heads) if heads else ""


def relative(lines: list[str]) -> list[str]:
    """Lines with their shared indentation and trailing whitespace removed."""
    base = len(base_indent(lines))
    return [line.rstrip()[base:] if line.strip() else "" for line in lines]


def reindent(line: str, model_base: str, file_base: str) -> str:
    """Move `line` from the model's indentation base to the file's."""
    if not line.strip() or model_base == file_base:
        return line
    if line.startswith(model_base):
        return file_base + line[len(model_base):]
    lead = indent_of(line)
    if model_base.startswith(lead):
        deficit = len(model_base) - len(lead)
        return file_base[: max(0, len(file_base) - deficit)] + line[len(lead):]
    return line


def common_ends(a: list[str], b: list[str]) -> tuple[int, int]:
    """(head, tail): how many leading and trailing items `a` and `b` share, not overlapping."""
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return head, tail

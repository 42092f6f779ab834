"""Syntax validation with tree-sitter: an edit that leaves a file with a syntax error
it did not have before is refused, naming the error's line and showing a snippet.
Files in languages without an installed grammar are not checked."""

from __future__ import annotations

import importlib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from codeagent.edits.lines import common_ends
from codeagent.grammars import GRAMMARS, language_for_path


@dataclass
class SyntaxProblem:
    line: int  # 1-based
    column: int
    what: str  # "syntax error" or "missing ')'"
    snippet: str  # the offending line and its neighbours, numbered

    def describe(self) -> str:
        return f"{self.what} at line {self.line}, column {self.column}:\n{self.snippet}"


@lru_cache(maxsize=None)
def _parser(module: str, func: str):
    from tree_sitter import Language, Parser

    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    return Parser(Language(getattr(mod, func)()))


def language_of(path: str) -> str | None:
    return language_for_path(path)


def parser_for(path: str):
    """A tree-sitter parser for `path`'s language, or None when no grammar is installed."""
    language = language_for_path(path)
    return _parser(*GRAMMARS[language]) if language else None


def problems(path: str, text: str) -> list[tuple[str, str, int, int]] | None:
    """(kind, text, row, column) for every error node, or None when the language has no grammar."""
    parser = parser_for(path)
    if parser is None:
        return None
    root = parser.parse(text.encode("utf-8")).root_node
    if not root.has_error:
        return []
    found: list[tuple[str, str, int, int]] = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_missing:
            found.append((f"missing {node.type!r}", "", *node.start_point))
        elif node.is_error:
            found.append(("syntax error", node.text.decode("utf-8", "replace")[:80], *node.start_point))
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    return found


def new_problem(path: str, before: str | None, after: str) -> SyntaxProblem | None:
    """The first syntax error in `after` that `before` did not have, if any.

    An error of `after` is one `before` had when `before` has an error of the same kind
    at the same line (lines below the change shifted by the lines it added), or of the
    same kind inside the changed lines when both are inside them, or with the same text.
    So an edit is never refused for an error it did not make: one elsewhere in the file,
    or one in the very lines it rewrote that were already broken in the same way."""
    found_after = problems(path, after)
    if not found_after:
        return None
    found_before = (problems(path, before) if before else []) or []
    where = _Change.between(before or "", after)
    places = Counter(where.place(kind, row, old=True) for kind, _, row, _ in found_before)
    texts = {(kind, text) for kind, text, _, _ in found_before}
    fresh = []
    for kind, text, row, column in found_after:
        place = where.place(kind, row, old=False)
        if places[place] > 0:
            places[place] -= 1
        elif (kind, text) not in texts:
            fresh.append((kind, row, column))
    if not fresh:
        return None
    kind, row, column = fresh[0]
    lines = after.split("\n")
    snippet = "\n".join(
        f"{'>' if i == row else ' '} {i + 1:>5} | {lines[i]}"
        for i in range(max(0, row - 2), min(len(lines), row + 3))
    )
    return SyntaxProblem(row + 1, column + 1, kind, snippet)


@dataclass
class _Change:
    """Where two versions of a text differ, by lines: the first `head` lines are equal,
    and so are the last `tail`."""

    head: int
    tail: int
    old_len: int
    new_len: int

    @classmethod
    def between(cls, before: str, after: str) -> "_Change":
        a, b = before.split("\n"), after.split("\n")
        head, tail = common_ends(a, b)
        return cls(head, tail, len(a), len(b))

    def place(self, kind: str, row: int, *, old: bool) -> tuple[str, str, int]:
        """(kind, where, line in the old text's numbering) of an error at `row`."""
        length = self.old_len if old else self.new_len
        if row < self.head:
            return kind, "before", row
        if row >= length - self.tail:
            return kind, "after", row - length + self.old_len
        return kind, "inside", 0

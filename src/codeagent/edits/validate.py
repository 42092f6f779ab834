"""Syntax validation with tree-sitter: an edit that leaves a file with a syntax error
it did not have before is refused, naming the error's line and showing a snippet.
Files in languages without an installed grammar are not checked."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache

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
    """The first syntax error in `after` that `before` did not have, if any."""
    found_after = problems(path, after)
    if not found_after:
        return None
    found_before = problems(path, before) if before else []
    known = {(p[0], p[1]) for p in found_before or []}
    fresh = [p for p in found_after if (p[0], p[1]) not in known]
    if not fresh and len(found_after) <= len(found_before or []):
        return None
    kind, _, row, column = (fresh or found_after)[0]
    lines = after.split("\n")
    snippet = "\n".join(
        f"{'>' if i == row else ' '} {i + 1:>5} | {lines[i]}"
        for i in range(max(0, row - 2), min(len(lines), row + 3))
    )
    return SyntaxProblem(row + 1, column + 1, kind, snippet)

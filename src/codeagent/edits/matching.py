"""The layered matcher: where in a file does the model's `old` text sit, and what
replaces it. Layers run in order and the first that finds anything decides:

    exact        the text occurs verbatim
    whitespace   equal line by line once trailing whitespace and CR are ignored
    indentation  the block is right but uniformly shifted (relative indentation equal)
    elision      lines such as `...` or `# ... existing code ...` stand for unchanged lines
    fuzzy        one window of very high similarity (>= 0.95), no other within 0.05 of it

A layer that finds more than one place refuses with every candidate's lines (an exact
block of 2+ lines that also occurs at another indentation counts as more than one
place: it may be a re-indented copy of the other), unless
the edit's own line hint (a diff hunk header whose counts are right) or anchor
(`@@ def f():`, the one candidate inside the block that line opens) names exactly one. Nothing is guessed. In the line-based layers, lines the model left
unchanged are written back exactly as the file has them, and inserted lines are moved
to the file's indentation.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field

from codeagent.edits.elision import match_elided
from codeagent.edits.lines import Lines, block_lines, indent_of, relative
from codeagent.edits.merge import keep_file_whitespace, line_match

FUZZY_THRESHOLD = 0.95
FUZZY_RIVAL = 0.90  # a second window this similar is a rival...
FUZZY_GAP = 0.05  # ...unless the best window beats it by at least this much
FUZZY_MIN_CHARS = 30


@dataclass
class Match:
    start: int  # character span replaced in the text
    end: int
    replacement: str
    layer: str
    line: int  # 0-based first line of the span
    count: int  # lines the span covers


@dataclass
class Miss:
    reason: str  # not-found | ambiguous | elision | anchor
    layer: str = ""
    candidates: list[tuple[int, int]] = field(default_factory=list)  # 1-based line ranges
    detail: str = ""


def locate(
    text: str,
    old: str,
    new: str,
    *,
    replace_all: bool = False,
    line_hint: int | None = None,
    anchor: str | None = None,
) -> list[Match] | Miss:
    """Every span to replace (one unless replace_all), or why there is none."""
    lines = Lines.of(text)
    old_lines, new_lines = block_lines(old), block_lines(new)
    attempts = (
        ("exact", lambda: _exact(lines, old, new)),
        ("whitespace", lambda: _by_key(lines, old_lines, new_lines, "whitespace")),
        ("indentation", lambda: _by_key(lines, old_lines, new_lines, "indentation")),
        ("elision", lambda: match_elided(lines, old_lines, new_lines)),
        ("fuzzy", lambda: _fuzzy(lines, old_lines, new_lines)),
    )
    for layer, attempt in attempts:
        if replace_all and layer not in ("exact", "whitespace"):
            break
        found = attempt()
        if isinstance(found, Miss):
            return found
        if found:
            if len(found) == 1 and not replace_all and layer in ("exact", "whitespace"):
                found, layer = _with_shifted_twins(lines, found, old_lines, new_lines, layer)
            return _choose(found, lines, layer, replace_all, line_hint, anchor)
    return Miss("not-found")


def _with_shifted_twins(lines: Lines, found: list[Match], old_lines, new_lines, layer: str):
    """A block of 2+ lines that also occurs elsewhere at another indentation may be a
    re-indented copy of that other place: all of them are candidates then."""
    if sum(1 for line in old_lines if line.strip()) < 2:
        return found, layer
    twins = [m for m in _by_key(lines, old_lines, new_lines, "indentation") if m.line != found[0].line]
    return (found + twins, "indentation") if twins else (found, layer)


def _exact(lines: Lines, old: str, new: str) -> list[Match]:
    found, text = [], lines.text
    if old.endswith("\n") and new.endswith("\n") and any(line != line.rstrip() for line in new.split("\n")):
        new = "".join(line + "\n" for line in keep_file_whitespace(block_lines(old), block_lines(new)))
    multiline = "\n" in old.rstrip("\n") or "\n" in new.rstrip("\n")
    at = text.find(old)
    while at != -1 and old:
        first, last = lines.line_of(at), lines.line_of(max(at, at + len(old) - 1))
        prefix = text[lines.starts[first] : at]
        # Indentation left out of a one-line `old` whose `new` has several lines: the new
        # lines' indentation is unknown, so it is not exact (the indentation layer decides).
        # A multi-line `old` whose later lines match verbatim shows the model knows the
        # indentation: replace it literally.
        dedented = prefix and not prefix.strip()
        if not (dedented and multiline and "\n" not in old.rstrip("\n")):
            found.append(Match(at, at + len(old), new, "exact", first, last - first + 1))
        at = text.find(old, at + len(old))
    return found


def _by_key(lines: Lines, old_lines: list[str], new_lines: list[str], layer: str) -> list[Match]:
    if not any(line.strip() for line in old_lines):
        return []
    n, items = len(old_lines), lines.items
    if layer == "whitespace":
        want = [line.rstrip() for line in old_lines]
        same = lambda i: [line.rstrip() for line in items[i : i + n]] == want  # noqa: E731
    else:
        want = relative(old_lines)
        same = lambda i: relative(items[i : i + n]) == want  # noqa: E731
    lead = next(k for k, line in enumerate(old_lines) if line.strip())
    head = old_lines[lead].strip()
    found = []
    for i in range(len(items) - n + 1):
        if items[i + lead].strip() == head and same(i):
            found.append(line_match(lines, i, old_lines, new_lines, layer))
    return found


def _fuzzy(lines: Lines, old_lines: list[str], new_lines: list[str]) -> list[Match] | Miss:
    if len("".join(old_lines).strip()) < FUZZY_MIN_CHARS:
        return []
    scored = similar_windows(lines, old_lines, FUZZY_RIVAL)
    if not scored or scored[0][0] < FUZZY_THRESHOLD:
        return []
    rivals = [(score, i) for score, i in scored[1:] if score > scored[0][0] - FUZZY_GAP]
    if rivals:
        n = len(old_lines)
        return Miss("ambiguous", "fuzzy", [(i + 1, i + n) for _, i in [scored[0], *rivals]])
    return [line_match(lines, scored[0][1], old_lines, new_lines, "fuzzy")]


def similar_windows(lines: Lines, old_lines: list[str], floor: float) -> list[tuple[float, int]]:
    """Non-overlapping windows of len(old_lines) lines scoring >= floor, best first."""
    want = "\n".join(line.rstrip() for line in old_lines)
    n = len(old_lines)
    if not want.strip() or n > len(lines.items):
        return []
    wanted = Counter(line.strip() for line in old_lines if line.strip())
    need = len(wanted) // 3 if n > 2 else 0
    matcher = difflib.SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(want)
    stripped = [line.strip() for line in lines.items]
    scored = []
    for i in range(len(lines.items) - n + 1):
        if need and sum(1 for s in stripped[i : i + n] if s in wanted) < need:
            continue
        matcher.set_seq1("\n".join(line.rstrip() for line in lines.items[i : i + n]))
        if matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor:
            continue
        score = matcher.ratio()
        if score >= floor:
            scored.append((score, i))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    kept: list[tuple[float, int]] = []
    for score, i in scored:
        if all(abs(i - j) >= n for _, j in kept):
            kept.append((score, i))
    return kept


def _choose(found, lines, layer, replace_all, line_hint, anchor) -> list[Match] | Miss:
    if len(found) == 1:
        return found
    if replace_all:
        kept: list[Match] = []
        for match in found:
            if not kept or match.start >= kept[-1].end:
                kept.append(match)
        return kept
    if line_hint is not None:
        at = [m for m in found if m.line + 1 == line_hint]
        if len(at) == 1:
            return at
    if anchor and anchor.strip():
        picked = _after_anchor(found, lines, anchor.strip())
        if picked is not None:
            return [picked]
    return Miss("ambiguous", layer, [(m.line + 1, m.line + m.count) for m in found])


def _after_anchor(found: list[Match], lines: Lines, anchor: str) -> Match | None:
    """The one candidate inside the block the anchor line opens (the anchor must occur
    once: a line equal to it, or else containing it); None when there are 0 or 2+."""
    hits = [i for i, line in enumerate(lines.items) if line.strip() == anchor]
    if not hits:
        hits = [i for i, line in enumerate(lines.items) if anchor in line]
    if len(hits) != 1:
        return None
    start = hits[0]
    depth = len(indent_of(lines.items[start]))
    end = next((k for k in range(start + 1, len(lines.items))
                if lines.items[k].strip() and len(indent_of(lines.items[k])) <= depth
                and not lines.items[k].strip().startswith((")", "]", "}"))), len(lines.items))
    inside = [m for m in found if start < m.line < end]
    return inside[0] if len(inside) == 1 else None
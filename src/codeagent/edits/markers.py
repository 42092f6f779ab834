"""Elision markers: lines such as `# ... existing code ...` or `// rest of file unchanged`
that a model writes instead of code it means to keep.

Two questions, kept apart:

1. Is a line shaped like a marker? (`marker_shape`) A comment that is only an ellipsis
   (`# ...`, `/* ... */`), an ellipsis-enclosed note (`# ... other methods ...`), or a
   comment saying code is left out (`# (rest of the file unchanged)`, `// existing code
   here`, `# ... rest unchanged`). A bare `...` is one too (Python's Ellipsis, so it only
   ever counts in `old`, where the elision layer reads it). Code that merely contains
   `...` — doctest continuations (`...     list(p)`), `x[..., 0]`, `Callable[..., T]`,
   JS spread (`...args`), prose (`# ... and then retry`) — is not.
2. Would writing `new` lose lines? (`lost_lines`) Only where a marker-shaped line of
   `new` sits in a changed hunk of the line diff old -> new, and that hunk removes
   non-blank lines of `old` which `new` has nowhere. A marker copied from `old`, one
   added where nothing was removed, or one beside lines moved elsewhere loses nothing
   and is written as it is.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from codeagent.edits.lines import common_ends

DOTS = r"(?:\.{3,}|\u2026|\.\s\.\s\.)"
LINE = re.compile(r"^\s*(?P<lead>#+|//+|/\*+|\{/\*+|<!--|--|;+|%+|\*)?\s*(?P<body>.*?)\s*(?:\*+/\}?|-->)?\s*$")
ONLY_DOTS = re.compile(rf"{DOTS}")
ENCLOSED = re.compile(rf"{DOTS}\s*(?P<words>[\[(]?[A-Za-z][\w ,'/-]*[\])]?)\s*{DOTS}")
NOUN = (r"(?:code|lines?|content|contents|implementation|methods?|functions?|body|logic|definitions?|imports|"
        r"tests|fields|properties|attributes|members|file|class|module|helpers|stuff|exports|components|"
        r"styles|handlers|routes)")
TAIL = (r"(?:(?:is |are |remains? |stays? |left |kept )?(?:unchanged|the same|as before|as is|omitted|elided|"
        r"not shown|intact|here|below|above)(?: (?:here|below|above|for brevity))?)")
PHRASE = re.compile(
    "|".join((
        rf"(?:the )?(?:rest|remainder) of (?:the |this )?(?:[a-z_]+ ){{0,2}}?{NOUN}(?: {TAIL})?",
        rf"(?:the )?(?:rest|remainder) {TAIL}",
        rf"(?:keep(?:ing)? |all |the )*(?:existing|unchanged|previous|original|remaining) (?:[a-z_]+ )?{NOUN}(?: {TAIL})?",
        rf"(?:{NOUN} )?(?:(?:is |are |remains? )?unchanged|omitted(?: for brevity)?|elided|(?:remains? )?the same)",
        r"same as (?:before|above|the original|original|previous)",
        r"snip(?:ped)?",
    )),
    re.IGNORECASE,
)


def marker_shape(line: str) -> str | None:
    """'dots', 'enclosed' or 'phrase' when `line` is shaped like an elision marker, else None."""
    found = LINE.match(line)
    if not found or not found.group("body"):
        return None
    lead, body = found.group("lead"), found.group("body")
    if ONLY_DOTS.fullmatch(body):
        return "dots"
    enclosed = ENCLOSED.fullmatch(body)
    if enclosed and (lead or _is_phrase(enclosed.group("words"))):
        return "enclosed"
    if lead and _is_phrase(re.sub(rf"^{DOTS}\s*|\s*{DOTS}$", "", body)):
        return "phrase"
    return None


def _is_phrase(words: str) -> bool:
    words = words.strip().strip("[]()").strip().rstrip(".:;!").strip()
    return bool(PHRASE.fullmatch(words))


def is_marker(line: str) -> bool:
    """A line of `old` that the elision layer reads as "unchanged lines of the file here"."""
    return marker_shape(line) is not None


def is_placeholder(line: str) -> bool:
    """A line of `new` that may stand in for code: a marker, but not a bare `...` (Ellipsis)."""
    shape = marker_shape(line)
    return shape is not None and not (shape == "dots" and not LINE.match(line).group("lead"))


@dataclass
class Loss:
    """A marker line of `new` (1-based `at`) standing where `old` lines first..last were,
    of which `lost` (non-blank) appear nowhere in `new`."""

    marker: str
    at: int
    first: int
    last: int
    lost: list[str]

    def describe(self, new_name: str, old_name: str) -> str:
        span = f"line {self.first}" if self.first == self.last else f"lines {self.first}-{self.last}"
        n, more = len(self.lost), ", ..." if len(self.lost) > 1 else ""
        it, are = ("it", "is") if n == 1 else ("them", "are")
        return (f"line {self.at} of {new_name}, {self.marker!r}, stands where {old_name} has {span}; {n} of those "
                f"lines ({self.lost[0].strip()[:60]!r}{more}) {are} nowhere in {new_name}: written literally, "
                f"the marker would replace {it} and the code would be lost")


def lost_lines(old: str, new: str) -> Loss | None:
    """The first marker of `new` that would replace lines of `old` which `new` does not keep."""
    new_lines = new.split("\n")
    shaped = [k for k, line in enumerate(new_lines) if is_placeholder(line)]
    if not shaped:
        return None
    old_lines = old.split("\n")
    kept = {line.strip() for line in new_lines}
    hunks = _hunks([line.strip() for line in old_lines], [line.strip() for line in new_lines])
    for n, hunk in enumerate(hunks):
        markers = [k for k in shaped if hunk.new[0] <= k < hunk.new[1]]
        if not markers:
            continue
        # the marker's own hunk, else the hunks next to it across blank lines only
        near = [hunk] + [h for h, joined in ((hunks[n - 1] if n else None, hunk.blank_gap),
                                              (hunks[n + 1] if n + 1 < len(hunks) else None,
                                               n + 1 < len(hunks) and hunks[n + 1].blank_gap)) if h and joined]
        for h in near:
            lost = [line for line in old_lines[h.old[0] : h.old[1]] if line.strip() and line.strip() not in kept]
            if lost:
                return Loss(new_lines[markers[0]].strip(), markers[0] + 1, h.old[0] + 1, h.old[1], lost)
    return None


@dataclass
class _Hunk:
    old: tuple[int, int]  # 0-based [start, end) in old
    new: tuple[int, int]
    blank_gap: bool  # only blank lines separate it from the hunk before


def _hunks(a: list[str], b: list[str]) -> list[_Hunk]:
    """The changed ranges of the line diff a -> b (lines compared stripped)."""
    head, tail = common_ends(a, b)
    matcher = difflib.SequenceMatcher(None, a[head : len(a) - tail], b[head : len(b) - tail], autojunk=False)
    hunks: list[_Hunk] = []
    blank_gap = False
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            blank_gap = not any(a[head + i] for i in range(i1, i2))
            continue
        hunks.append(_Hunk((head + i1, head + i2), (head + j1, head + j2), bool(hunks) and blank_gap))
    return hunks

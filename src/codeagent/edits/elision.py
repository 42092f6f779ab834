"""The elision layer: a line in `old` such as `...`, `# ...` or
`// ... existing code ...` (markers.py says which shapes count) stands for unchanged
lines of the file. Each run of real lines between markers must match in order, each
run at its nearest place after the previous one; of spans ending at the same line the shortest is meant. `new` must carry
the same number of markers, and each marker in `new` is replaced by exactly the lines
it stood for."""

from __future__ import annotations

from typing import TYPE_CHECKING

from codeagent.edits.lines import Lines
from codeagent.edits.markers import is_marker
from codeagent.edits.merge import merge_lines

if TYPE_CHECKING:
    from codeagent.edits.matching import Match, Miss


def split_segments(lines: list[str]) -> list[list[str]]:
    segments: list[list[str]] = [[]]
    for line in lines:
        if is_marker(line):
            segments.append([])
        else:
            segments[-1].append(line)
    return segments


def match_elided(lines: Lines, old_lines: list[str], new_lines: list[str]) -> "list[Match] | Miss":
    from codeagent.edits.matching import Miss

    old_segs = split_segments(old_lines)
    if len(old_segs) == 1:
        return []
    if any(not any(line.strip() for line in seg) for seg in (old_segs[0], old_segs[-1])):
        return Miss("elision", "elision", detail="old starts or ends with an elision marker; "
                    "give real lines before and after every `...` so the span is bounded")
    new_segs = split_segments(new_lines)
    if len(new_segs) != len(old_segs):
        return Miss("elision", "elision", detail=f"old has {len(old_segs) - 1} elision marker(s) but new has "
                    f"{len(new_segs) - 1}; keep the same markers in new (each stands for the same lines) "
                    "or write out the elided lines")
    spans = [s for s in (_follow(lines, old_segs, first) for first in _windows(lines, old_segs[0], 0)) if s]
    innermost: dict[int, list[int]] = {}
    for span in spans:  # spans ending at the same line: '...' means the shortest one
        end = span[-1]
        if end not in innermost or span[0] > innermost[end][0]:
            innermost[end] = span
    return [_build(lines, old_segs, new_segs, span) for span in innermost.values()]


def _windows(lines: Lines, seg: list[str], start: int) -> list[int]:
    """Starts >= start where seg matches, ignoring trailing (then all outer) whitespace."""
    n, items = len(seg), lines.items
    for key in (str.rstrip, str.strip):
        want = [key(line) for line in seg]
        hits = [i for i in range(start, len(items) - n + 1)
                if key(items[i]) == want[0] and [key(x) for x in items[i : i + n]] == want]
        if hits:
            return hits
    return []


def _follow(lines: Lines, segs: list[list[str]], first: int) -> list[int] | None:
    """Starts of every segment, each the nearest after the previous, or None."""
    starts, pos = [first], first + len(segs[0])
    for seg in segs[1:]:
        if not seg:
            starts.append(pos)
            continue
        later = _windows(lines, seg, pos)
        if not later:
            return None
        starts.append(later[0])
        pos = later[0] + len(seg)
    return starts


def _build(lines: Lines, old_segs, new_segs, starts: list[int]) -> "Match":
    from codeagent.edits.matching import Match

    body: list[str] = []
    for k, (old_seg, new_seg, at) in enumerate(zip(old_segs, new_segs, starts)):
        body.extend(merge_lines(old_seg, new_seg, lines.items[at : at + len(old_seg)]))
        if k + 1 < len(starts):
            body.extend(lines.items[at + len(old_seg) : starts[k + 1]])
    first, end_line = starts[0], starts[-1] + len(old_segs[-1])
    start, end = lines.span(first, end_line - first)
    return Match(start, end, "".join(line + "\n" for line in body), "elision", first, end_line - first)

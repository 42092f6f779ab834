"""Messages the model reads after an edit: on success a one-line confirmation with the
changed line range; on failure which edit, why, the closest match with its line
numbers, a short diff between what the model wrote and what the file has, and what
to do next."""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from codeagent.edits.lines import Lines, block_lines
from codeagent.edits.matching import Miss, similar_windows

MAX_DIFF_LINES = 30
MAX_CANDIDATES = 50
LAYER_NOTES = {
    "exact": "",
    "whitespace": " (matched ignoring trailing whitespace / line endings)",
    "indentation": " (matched with the block re-indented to the file's indentation)",
    "elision": " (matched with '...' standing for unchanged lines)",
    "fuzzy": " (matched a near-identical block; unchanged lines kept as the file has them)",
}

AMBIGUOUS_NOTES = {
    "whitespace": " (ignoring trailing whitespace)",
    "indentation": " (ignoring indentation)",
    "elision": " (with '...' standing for unchanged lines)",
    "fuzzy": " (by near-identical text)",
}


def applied(rel: str, layer: str, first: int, old_count: int, new_count: int) -> str:
    """`first` is 1-based; counts are lines replaced and lines written."""
    note = LAYER_NOTES.get(layer, "")
    if new_count == 0:
        return f"Edited {rel}{note}: removed lines {first}-{first + old_count - 1}."
    span = f"lines {first}-{first + new_count - 1} now hold" if new_count > 1 else f"line {first} now holds"
    return f"Edited {rel}{note}: {span} the new text ({old_count} line(s) replaced by {new_count})."


def miss(label: str, rel: str, found: Miss, text: str, old: str, *, from_tool: bool) -> str:
    """Why `old` did not apply, with the closest match or every candidate."""
    head = f"{label} was not applied"
    if found.reason == "ambiguous":
        places = ", ".join(_span(a, b) for a, b in found.candidates[:MAX_CANDIDATES])
        more = f" and {len(found.candidates) - MAX_CANDIDATES} more" if len(found.candidates) > MAX_CANDIDATES else ""
        how = AMBIGUOUS_NOTES.get(found.layer, "")
        advice = "Include more surrounding lines in old so it matches exactly one place"
        advice += ", or set replace_all to change every one." if from_tool else "."
        return f"{head}: old text matches {len(found.candidates)} places in {rel}{how}: lines {places}{more}. {advice}"
    if found.reason == "elision":
        return f"{head}: {found.detail}."
    return f"{head}: old text was not found in {rel}.{closest(text, old, rel)}"


def closest(text: str, old: str, rel: str) -> str:
    """' The closest match is lines a-b ...' with a short diff, or a hint when nothing is close."""
    lines = Lines.of(text)
    old_lines = block_lines(old)
    if not old_lines or not lines.items:
        return " The file is empty." if not lines.items else ""
    windows = similar_windows(lines, old_lines, 0.5)
    if windows:
        score, first = windows[0]
        count = len(old_lines)
    else:
        first, count, score = _by_first_line(lines, old_lines)
        if first is None:
            return f" No similar lines either; read {rel} again before editing it."
    window = lines.items[first : first + count]
    diff = list(difflib.unified_diff(old_lines, window, "your old text", f"{rel} lines {_span(first + 1, first + count)}",
                                     lineterm="", n=2))
    if len(diff) > MAX_DIFF_LINES:
        diff = diff[:MAX_DIFF_LINES] + [f"... ({len(diff) - MAX_DIFF_LINES} more diff lines)"]
    return (
        f" The closest match is {_lines(first + 1, first + count)} ({score:.0%} similar)."
        " Differences (- what you wrote, + what the file has):\n" + "\n".join(diff) +
        "\nCopy old exactly from the file (read those lines again) and retry; nothing was changed."
    )


def _by_first_line(lines: Lines, old_lines: list[str]) -> tuple[int | None, int, float]:
    first_old = next(line.strip() for line in old_lines if line.strip()) if any(l.strip() for l in old_lines) else ""
    stripped = [line.strip() for line in lines.items]
    best = difflib.get_close_matches(first_old, stripped, n=1, cutoff=0.6)
    if not best:
        return None, 0, 0.0
    at = stripped.index(best[0])
    count = min(len(old_lines), len(lines.items) - at)
    window = "\n".join(line.strip() for line in lines.items[at : at + count])
    score = difflib.SequenceMatcher(None, "\n".join(line.strip() for line in old_lines), window).ratio()
    return at, count, score


def _lines(a: int, b: int) -> str:
    return f"line {a}" if a == b else f"lines {a}-{b}"


def _span(a: int, b: int) -> str:
    return f"{a}" if a == b else f"{a}-{b}"


def missing_file(root: Path, rel: str, limit: int = 20_000) -> str:
    """' Files with the same name: ...' when the model probably got the directory wrong."""
    name, found, seen = Path(rel).name, [], 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git" and not d.startswith(".")]
        seen += len(files)
        if name in files:
            found.append(Path(folder, name).relative_to(root).as_posix())
        if seen > limit or len(found) >= 5:
            break
    return f" Files with that name: {', '.join(found)}." if found else ""

"""The failure digest the model reads after a test run: bounded, most useful first.

Order: the summary line (with the diff against the baseline when given), collection
and import errors, then each failing test (regressions first, then failing new tests,
then pre-existing failures): its id, the assertion message, the project frames
(library frames folded into one line) and the tail of its captured output. Tests that
do not fit are listed by id; the whole text never exceeds `max_chars`.
"""

from __future__ import annotations

import re

from codeagent.testing.diff import TestDiff
from codeagent.testing.frames import find_frames, render_frames
from codeagent.testing.report import TestCase, TestReport

MIN_BLOCK = 300
MAX_BLOCK = 1500


def digest(report: TestReport, diff: TestDiff | None = None, max_chars: int = 4000, root: str = "") -> str:
    """A compact account of what failed in `report`, at most `max_chars` characters."""
    root = root or report.root
    parts = [_header(report, diff)]
    if report.timed_out or (not report.failed and not report.collection_errors and not report.ok):
        parts.append("last output:\n" + _indent(_tail(report.raw_output, max_chars // 2)))
    budget = max_chars - sum(len(p) + 1 for p in parts)
    for error in report.collection_errors[:5]:
        block = "COLLECTION ERROR " + _clip(_collection_text(error, root), min(1200, max(budget // 2, 200)))
        parts.append(block)
        budget -= len(block) + 1
    failing = _ordered_failures(report, diff)
    shown = 0
    for i, case in enumerate(failing):
        share = max(MIN_BLOCK, min(MAX_BLOCK, budget // max(1, len(failing) - i)))
        if budget < MIN_BLOCK:
            break
        block = _clip(_case_block(case, diff, root), share)
        parts.append(block)
        budget -= len(block) + 1
        shown += 1
    rest = [c.id for c in failing[shown:]]
    if rest:
        parts.append(f"... {len(rest)} more failing: " + ", ".join(rest))
    return _clip("\n".join(parts), max_chars)


def _header(report: TestReport, diff: TestDiff | None) -> str:
    line = f"TESTS ({report.runner}, {report.duration:.1f}s): {report.summary_line()}"
    if report.selection is not None:
        line += f" [selection of {len(report.selection)}]"
    if report.ok:
        line += " - all passing"
    if diff is not None:
        counts = {k: v for k, v in diff.summary().items() if v}
        if counts:
            line += "\nvs baseline: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in counts.items())
        if not diff.has_baseline:
            line += "\n(no baseline: every failure counts)"
    if report.flaky:
        line += "\nflaky (failed, then passed on re-run): " + ", ".join(report.flaky[:10])
    if not report.tests and not report.timed_out and report.exit_code not in (0, None):
        line += f"\nthe command exited {report.exit_code} without reporting tests"
    return line


def _ordered_failures(report: TestReport, diff: TestDiff | None) -> list[TestCase]:
    failing = [t for t in report.tests if t.failing and not _is_collection(t, report)]
    if diff is None:
        return failing
    rank = {tid: 0 for tid in diff.regressions} | {tid: 1 for tid in diff.new_failing}
    return sorted(failing, key=lambda t: rank.get(t.id, 2))


def _is_collection(case: TestCase, report: TestReport) -> bool:
    return any(e.startswith(case.id + ":") for e in report.collection_errors)


def _case_block(case: TestCase, diff: TestDiff | None, root: str) -> str:
    tag = ""
    if diff is not None:
        if case.id in diff.regressions:
            tag = "  [REGRESSION: passed before]" if diff.has_baseline else ""
        elif case.id in diff.new_failing:
            tag = "  [new test]"
        elif case.id in diff.still_failing:
            tag = "  [failed before too]"
    lines = [f"{'FAILED' if case.outcome == 'failed' else 'ERROR'} {case.id}{tag}"]
    detail, captured = _split_captured(case.output)
    message = case.message.strip() or "(no message)"
    lines.append(_indent(_clip(message, 400)))
    e_lines = [ln[1:].strip() for ln in detail.splitlines() if ln.startswith("E ")]
    extra = [ln for ln in e_lines if ln and ln not in message][:8] or _after_message(detail, message)
    lines += [_indent(ln) for ln in extra]
    frames = render_frames(find_frames(detail, root))
    if frames:
        lines.append("  at " + frames[0])
        lines += ["     " + f for f in frames[1:]]
    elif case.location:
        lines.append(f"  at {case.location}")
    if captured.strip():
        lines.append("  output (tail):")
        lines.append(_indent(_tail(captured, 400), "    "))
    return "\n".join(lines)


def _after_message(detail: str, message: str, limit: int = 6) -> list[str]:
    """The lines right after the message in the failure text (e.g. Rust's left/right values)."""
    head = message.splitlines()[0].strip() if message.strip() else ""
    lines = detail.splitlines()
    start = next((i for i, ln in enumerate(lines) if head and head in ln), None)
    if start is None:
        return []
    out = []
    for line in lines[start + 1:]:
        text = line.strip()
        if not text or text.startswith(("note:", "stack backtrace:", "Traceback", "at ", "File ")):
            break
        if text not in message:
            out.append(text)
        if len(out) >= limit:
            break
    return out


def _split_captured(output: str) -> tuple[str, str]:
    """(failure detail, captured output) from a test case's output text."""
    match = re.search(r"^\[captured \w+\]$|^Stdout:$|^Stderr:$", output, re.M)
    if not match:
        return output, ""
    return output[: match.start()], output[match.start():]


def _collection_text(error: str, root: str) -> str:
    name, _, text = error.partition(": ")
    e_lines = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("E ")]
    lines = [name + ": " + (e_lines[-1] if e_lines else _last_line(text))]
    frames = render_frames(find_frames(text, root))
    lines += [("  at " if i == 0 else "     ") + f for i, f in enumerate(frames)]
    if not e_lines:
        lines.append(_indent(_tail(text, 600)))
    return "\n".join(lines)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _tail(text: str, cap: int) -> str:
    text = text.strip()
    return text if len(text) <= cap else "..." + text[-cap:]


def _clip(text: str, cap: int) -> str:
    return text if len(text) <= cap else text[: max(0, cap - 14)] + "\n[... clipped]"


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + ln for ln in text.splitlines())

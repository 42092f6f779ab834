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

MIN_BLOCK = 450  # fewer tests shown whole beat many tests cut short
MAX_BLOCK = 1500
MESSAGE_LINES = 8
TAIL_RESERVE = 300  # kept for the list of tests that did not fit


def digest(report: TestReport, diff: TestDiff | None = None, max_chars: int = 4000, root: str = "") -> str:
    """A compact account of what failed in `report`, at most `max_chars` characters."""
    root = (root or report.root).rstrip("/")
    parts = [_header(report, diff)]
    if report.timed_out or (not report.failed and not report.collection_errors and not report.ok):
        parts.append("last output:\n" + _indent(_tail(report.raw_output, max_chars // 2)))
    budget = max_chars - sum(len(p) + 1 for p in parts) - TAIL_RESERVE
    for names, error in _grouped_collection_errors(report.collection_errors)[:5]:
        block = _collection_block(names, error, root, min(1200, max(budget // 2, 200)))
        parts.append(block)
        budget -= len(block) + 1
    groups = _grouped_failures(_ordered_failures(report, diff), diff, root)
    shown = 0
    for i, (case, same) in enumerate(groups):
        share = max(MIN_BLOCK, min(MAX_BLOCK, budget // max(1, len(groups) - i)))
        if budget < MIN_BLOCK:
            break
        block = _case_block(case, same, diff, root, share)
        parts.append(block)
        budget -= len(block) + 1
        shown += 1
    rest = [c.id for case, same in groups[shown:] for c in (case, *same)]
    if rest:
        parts.append(_clip(f"... {len(rest)} more failing: " + ", ".join(rest), TAIL_RESERVE))
    return _clip("\n".join(parts), max_chars)


def _grouped_collection_errors(errors: list[str]) -> list[tuple[list[str], str]]:
    """Collection errors with the same final error line, grouped: (names, first error text)."""
    groups: dict[str, tuple[list[str], str]] = {}
    for error in errors:
        name, _, text = error.partition(": ")
        key = _error_line(text)
        groups.setdefault(key, ([], error))[0].append(name)
    return list(groups.values())


def _grouped_failures(failing: list[TestCase], diff: TestDiff | None,
                      root: str) -> list[tuple[TestCase, list[TestCase]]]:
    """Failing tests with the same message, innermost project frame and tag, grouped."""
    groups: dict[tuple[str, ...], tuple[TestCase, list[TestCase]]] = {}
    for case in failing:
        frames = [f for f in find_frames(case.output, root) if f.project]
        where = f"{frames[-1].path}:{frames[-1].line}" if frames else ""
        key = (case.message.strip().split("\n")[0], where, _tag(case, diff)) if where else (case.id,)
        if key in groups:
            groups[key][1].append(case)
        else:
            groups[key] = (case, [])
    return list(groups.values())


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


def _case_block(case: TestCase, same: list[TestCase], diff: TestDiff | None, root: str, share: int) -> str:
    """id, message, project frames, extra detail, output tail; each part within its own budget."""
    head = f"{'FAILED' if case.outcome == 'failed' else 'ERROR'} {case.id}{_tag(case, diff)}"
    if same:
        head += _clip(f" (+{len(same)} more with the same error: " + ", ".join(c.id for c in same) + ")", share // 3)
    detail, captured = _split_captured(_unroot(case.output, root))
    message = _message(_unroot(case.message, root), detail)
    e_lines = [ln[1:].strip() for ln in detail.splitlines() if ln.startswith("E ")]
    found = find_frames(detail, root)
    extra = [ln for ln in e_lines if ln and ln not in message][:8]
    if not extra and not any(f.path.endswith(".py") for f in found):
        extra = _after_message(detail, message)  # e.g. Rust's left/right values
    frames = render_frames(found)
    frame_lines = [("  at " if i == 0 else "     ") + f for i, f in enumerate(frames)]
    if not frames and case.location:
        frame_lines = [f"  at {case.location}"]
    lines = [head, _indent(_clip(message, min(600, share // 2)))]
    lines += [_indent(ln) for ln in extra]
    if frame_lines:
        lines.append(_clip("\n".join(frame_lines), share // 3))
    block = "\n".join(lines)
    room = share - len(block) - 20
    if captured.strip() and room > 80:
        block += "\n  output (tail):\n" + _indent(_tail(captured, min(400, room)), "    ")
    return _clip(block, share)


def _tag(case: TestCase, diff: TestDiff | None) -> str:
    if diff is None:
        return ""
    if case.id in diff.regressions:
        return "  [REGRESSION: passed before]" if diff.has_baseline else ""
    if case.id in diff.new_failing:
        return "  [new test]"
    if case.id in diff.still_failing:
        return "  [failed before too]"
    return ""


def _message(message: str, detail: str) -> str:
    """The message to show: a doctest's failed example, else the first lines of the message."""
    if "Failed example:" in detail:
        example = detail[detail.index("Failed example:"):].split("\n-----", 1)[0]
        return "\n".join(example.strip().splitlines()[:MESSAGE_LINES])
    lines = message.strip().splitlines() or ["(no message)"]
    if len(lines) <= MESSAGE_LINES:
        return "\n".join(lines)
    skipped = len(lines) - MESSAGE_LINES + 1
    return "\n".join(lines[:3] + [f"[... {skipped} lines ...]"] + lines[-(MESSAGE_LINES - 4):])


def _unroot(text: str, root: str) -> str:
    return text.replace(root + "/", "") if root else text


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


def _collection_block(names: list[str], error: str, root: str, cap: int) -> str:
    name, _, text = error.partition(": ")
    where = ", ".join(names) if len(names) <= 3 else f"{', '.join(names[:3])} and {len(names) - 3} more"
    lines = [f"COLLECTION ERROR {where}: {_unroot(_error_line(text), root)}"]
    frames = render_frames(find_frames(text, root))
    lines += [("  at " if i == 0 else "     ") + f for i, f in enumerate(frames)]
    if not frames:
        lines.append(_indent(_tail(_unroot(text, root), 600)))
    return _clip("\n".join(lines), cap)


def _error_line(text: str) -> str:
    e_lines = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("E ")]
    return e_lines[-1] if e_lines else _last_line(text)


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _tail(text: str, cap: int) -> str:
    text = text.strip()
    return text if len(text) <= cap else "..." + text[-cap:]


def _clip(text: str, cap: int) -> str:
    return text if len(text) <= cap else text[: max(0, cap - 6)] + " [...]"


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + ln for ln in text.splitlines())

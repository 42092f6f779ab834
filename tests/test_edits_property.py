"""Property tests: take a real source file of this repository, make a random change,
write that change as a model would in each format, and check the engine reproduces
exactly the changed file, in every file style (CRLF, BOM, no final newline, tabs),
or, only when the model's old text is not unique, refuses and changes nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from codeagent.edits import Edit, EditEngine

SOURCES = sorted((Path(__file__).parent.parent / "src" / "codeagent").rglob("*.py"))
MARKERS = ("<<<<<<<", "=======", ">>>>>>>", "*** ")  # files quoting edit formats (the parsers' own docs)
TEXTS = [text for text in (p.read_text() for p in SOURCES if 500 < p.stat().st_size < 40_000)
         if not any(line.strip().startswith(MARKERS) for line in text.split("\n"))]
STYLES = ("plain", "crlf", "bom", "no-final-newline", "tabs")
FORMATS = ("edit_file", "search-replace", "unified", "patch")

body = st.from_regex(r"[!-~]([ -~]{0,30}[!-~])?", fullmatch=True).filter(
    lambda s: not s.startswith(("<<<<<<<", "=======", ">>>>>>>", "***", "---", "+++", "@@"))
)
new_line = st.builds(lambda indent, text: indent + text, st.sampled_from(["", "    ", "        "]), body) | st.just("")


@st.composite
def changes(draw):
    lines = draw(st.sampled_from(TEXTS)).split("\n")[:-1]
    start = draw(st.integers(0, len(lines) - 1))
    end = draw(st.integers(start, min(len(lines), start + 3)))
    new = draw(st.lists(new_line, max_size=3))
    before, after = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    return lines, start, end, new, before, after


def styled(lines: list[str], style: str) -> bytes:
    if style == "tabs":
        lines = [line.replace("    ", "\t") for line in lines]
    text = "".join(line + "\n" for line in lines)
    if style == "crlf":
        return text.replace("\n", "\r\n").encode()
    if style == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    if style == "no-final-newline":
        return text[:-1].encode()
    return text.encode()


def render(fmt: str, rel: str, old: list[str], new: list[str], first: int, ctx: int, removed: int) -> str | Edit:
    join = lambda ls: "".join(line + "\n" for line in ls)  # noqa: E731
    if fmt == "edit_file":
        return Edit(rel, "replace", join(old), join(new), source="edit_file")
    if fmt == "search-replace":
        return f"{rel}\n```\n<<<<<<< SEARCH\n{join(old)}=======\n{join(new)}>>>>>>> REPLACE\n```\n"
    after = len(old) - ctx - removed
    hunk = ([" " + line for line in old[:ctx]] + ["-" + line for line in old[ctx : ctx + removed]]
            + ["+" + line for line in new[ctx : len(new) - after]] + [" " + line for line in old[ctx + removed :]])
    if fmt == "unified":
        return f"--- a/{rel}\n+++ b/{rel}\n@@ -{first + 1},{len(old)} +{first + 1},{len(new)} @@\n{join(hunk)}"
    return f"*** Begin Patch\n*** Update File: {rel}\n@@\n{join(hunk)}*** End Patch\n"


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(change=changes(), style=st.sampled_from(STYLES))
def test_a_random_change_in_each_format_reproduces_exactly(fmt, change, style):
    lines, start, end, new_lines, before, after = change
    first, stop = max(0, start - before), min(len(lines), end + after)
    old = lines[first:stop]
    new = lines[first:start] + new_lines + lines[end:stop]
    assume(any(line.strip() for line in old) and new != old)
    expected_lines = lines[:start] + new_lines + lines[end:]
    assume(expected_lines)
    if style == "no-final-newline":  # a blank last line would vanish with the final newline
        assume(lines[-1].strip() and expected_lines[-1].strip())
    if style == "tabs":
        old, new = [x.replace("    ", "\t") for x in old], [x.replace("    ", "\t") for x in new]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        target = root / "pkg" / "mod.py"
        target.parent.mkdir()
        original = styled(lines, style)
        target.write_bytes(original)
        edit = render(fmt, "pkg/mod.py", old, new, first, start - first, end - start)
        engine = EditEngine(root, validate_syntax=False)
        report = engine.apply([edit]) if isinstance(edit, Edit) else engine.apply_text(edit)
        if report.ok:
            assert target.read_bytes() == styled(expected_lines, style), report.describe()
        else:  # only ambiguity may refuse it (a diff's line number settles that)
            assert target.read_bytes() == original
            assert fmt != "unified" and "places" in report.describe(), report.describe()


def perturb(old: list[str], new: list[str], how: str) -> tuple[str, str]:
    if how == "trailing-spaces":
        old, new = [line + "  " for line in old], [line + " " for line in new]
    elif how == "reindented":
        old, new = ["    " + line if line else line for line in old], ["    " + line if line else line for line in new]
    join = "\r\n" if how == "crlf" else "\n"
    return "".join(line + join for line in old), "".join(line + join for line in new)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(change=changes(), how=st.sampled_from(["trailing-spaces", "reindented", "crlf"]))
def test_a_perturbed_edit_is_applied_exactly_or_refused_never_misapplied(change, how):
    lines, start, end, new_lines, before, after = change
    first, stop = max(0, start - before), min(len(lines), end + after)
    old, new = lines[first:stop], lines[first:start] + new_lines + lines[end:stop]
    assume(sum(1 for line in old if line.strip()) >= 2 and new != old)
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "mod.py"
        original = styled(lines, "plain")
        target.write_bytes(original)
        old_text, new_text = perturb(old, new, how)
        result = EditEngine(Path(tmp), validate_syntax=False).edit("mod.py", old_text, new_text)
        if result.ok:
            expected = [line.rstrip() if first <= k < first + len(new) else line
                        for k, line in enumerate(lines[:start] + new_lines + lines[end:])]
            assert target.read_bytes() == styled(expected, "plain"), result.message
        else:
            assert target.read_bytes() == original and "places" in result.message, result.message

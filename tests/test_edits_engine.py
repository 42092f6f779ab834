"""EditEngine against real files in tmp_path: every refusal, all-or-nothing batches,
byte-faithful round trips (CRLF, BOM, no trailing newline, tabs, latin-1, file mode),
syntax validation and the feedback the model reads."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from codeagent.edits import Edit, EditEngine, PathRefused, resolve_in_workspace


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "ws"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "mod.py").write_text("def f():\n    return 1\n\n\ndef g():\n    return 2\n")
    (root / "notes.txt").write_text("alpha\nbeta\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    (root / "escape").symlink_to(outside)
    (root / "inner").symlink_to(root / "pkg")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink() and ".git" not in p.parts}


REFUSED_PATHS = [
    ("outside-relative", "../outside/secret.txt", "outside the workspace"),
    ("outside-absolute", "/etc/passwd", "outside the workspace"),
    ("symlink-escape", "escape/secret.txt", "symlink that leaves the workspace"),
    ("dot-git", ".git/config", "inside .git/"),
    ("nested-dot-git", "pkg/../.git/config", "inside .git/"),
    ("empty", "", "not a usable path"),
]


@pytest.mark.parametrize("case", REFUSED_PATHS, ids=[c[0] for c in REFUSED_PATHS])
def test_refused_paths_raise_for_tools_and_fail_edits(ws, case):
    _, rel, reason = case
    with pytest.raises(PathRefused, match=reason):
        resolve_in_workspace(ws, rel, for_write=True)
    before = snapshot(ws.parent)
    result = EditEngine(ws).write(rel, "pwned\n")
    assert not result.ok and reason in result.message
    assert snapshot(ws.parent) == before


def test_symlink_inside_the_workspace_is_followed_to_its_target(ws):
    assert resolve_in_workspace(ws, "inner/mod.py", for_write=False) == (ws / "pkg" / "mod.py").resolve()
    result = EditEngine(ws).edit("inner/mod.py", "return 1", "return 10")
    assert result.ok and (ws / "inner").is_symlink()
    assert "return 10" in (ws / "pkg" / "mod.py").read_text()


def test_absolute_path_inside_the_workspace_is_accepted(ws):
    assert EditEngine(ws).edit(str(ws / "notes.txt"), "beta", "gamma").ok


def write_bytes(root: Path, rel: str, data: bytes) -> str:
    (root / rel).write_bytes(data)
    return rel


REFUSED_FILES = [
    ("binary", lambda r: write_bytes(r, "blob.bin", b"\x89PNG\x00\x00data"), "old", "not a text file"),
    ("oversize", lambda r: write_bytes(r, "big.txt", b"x = 1\n" * 400), "x = 1", "over the 2,000-byte limit"),
    ("missing", lambda r: "pkg/nothere.py", "x", "does not exist"),
    ("directory", lambda r: "pkg", "x", "is a directory"),
    ("empty-old-on-content", lambda r: "notes.txt", "", "already has content"),
    ("ambiguous", lambda r: write_bytes(r, "twice.txt", b"same\nsame\n"), "same", "matches 2 places"),
]


@pytest.mark.parametrize("case", REFUSED_FILES, ids=[c[0] for c in REFUSED_FILES])
def test_refused_files_change_nothing(ws, case):
    _, make, old, reason = case
    rel = make(ws)
    before = snapshot(ws)
    result = EditEngine(ws, max_file_bytes=2000).edit(rel, old, "new")
    assert not result.ok
    assert reason in result.message
    assert snapshot(ws) == before


def test_missing_file_suggests_the_same_name_elsewhere(ws):
    result = EditEngine(ws).edit("mod.py", "return 1", "return 3")
    assert "does not exist" in result.message and "pkg/mod.py" in result.message


def test_empty_old_creates_a_missing_file(ws):
    result = EditEngine(ws).edit("new/dir/file.py", "", "x = 1\n")
    assert result.ok and (ws / "new/dir/file.py").read_text() == "x = 1\n"


def test_a_batch_applies_completely_or_not_at_all(ws):
    before = snapshot(ws)
    edits = [
        Edit("notes.txt", old="alpha", new="ALPHA"),
        Edit("pkg/mod.py", old="return 1", new="return 100"),
        Edit("pkg/mod.py", old="return 99", new="return 3"),  # fails
    ]
    report = EditEngine(ws).apply(edits)
    assert not report.ok and not report.written
    assert [r.ok for r in report.results] == [True, True, False]
    assert report.results[0].message.startswith("Not written")
    assert "nothing was written" in report.describe()
    assert snapshot(ws) == before
    report = EditEngine(ws).apply(edits[:2])
    assert report.ok and report.written and report.files_changed == ["notes.txt", "pkg/mod.py"]
    assert (ws / "notes.txt").read_text() == "ALPHA\nbeta\n"


def test_dry_run_reports_the_diff_and_writes_nothing(ws):
    before = snapshot(ws)
    report = EditEngine(ws).apply([Edit("notes.txt", old="beta", new="gamma")], dry_run=True)
    assert report.ok and not report.written and "+gamma" in report.results[0].diff
    assert snapshot(ws) == before


def test_later_edits_in_a_batch_see_earlier_ones(ws):
    report = EditEngine(ws).apply([Edit("notes.txt", old="beta", new="gamma"), Edit("notes.txt", old="gamma", new="delta")])
    assert report.ok and (ws / "notes.txt").read_text() == "alpha\ndelta\n"


def test_move_delete_and_create_in_one_transaction(ws):
    report = EditEngine(ws).apply([
        Edit("pkg/mod.py", old="return 2", new="return 20"),
        Edit("pkg/mod.py", "move", move_to="pkg/moved.py"),
        Edit("notes.txt", "delete"),
        Edit("added.md", "create", new="# hi\n"),
    ])
    assert report.ok, report.describe()
    assert not (ws / "pkg/mod.py").exists() and not (ws / "notes.txt").exists()
    assert "return 20" in (ws / "pkg/moved.py").read_text()
    assert (ws / "added.md").read_text() == "# hi\n"


def test_create_refuses_an_existing_file_and_move_an_existing_target(ws):
    assert "already exists" in EditEngine(ws).apply([Edit("notes.txt", "create", new="x")]).results[0].message
    result = EditEngine(ws).apply([Edit("notes.txt", "move", move_to="pkg/mod.py")]).results[0]
    assert not result.ok and "already exists" in result.message


ROUND_TRIPS = [
    ("crlf", b"one\r\ntwo\r\nthree\r\n", b"one\r\n2\r\nthree\r\n"),
    ("bom", b"\xef\xbb\xbfone\ntwo\nthree\n", b"\xef\xbb\xbfone\n2\nthree\n"),
    ("no-trailing-newline", b"one\ntwo\nthree", b"one\n2\nthree"),
    ("no-trailing-newline-last-line", b"one\nthree\ntwo", b"one\nthree\n2"),
    ("crlf-bom-no-newline", b"\xef\xbb\xbfone\r\ntwo\r\nthree", b"\xef\xbb\xbfone\r\n2\r\nthree"),
    ("tabs", b"one\n\ttwo\n\t\tthree\n", b"one\n\t2\n\t\tthree\n"),
    ("latin-1", "one\ntwo \xe9t\xe9\nthree\n".encode("latin-1"), "one\n2 \xe9t\xe9\nthree\n".encode("latin-1")),
    ("utf-16", "\ufeffone\ntwo\nthree\n".encode("utf-16-le"), "\ufeffone\n2\nthree\n".encode("utf-16-le")),
    ("mixed-newlines", b"one\r\ntwo\nthree\r\n", b"one\r\n2\nthree\r\n"),
]


@pytest.mark.parametrize("case", ROUND_TRIPS, ids=[c[0] for c in ROUND_TRIPS])
def test_round_trips_preserve_encoding_bom_newlines_and_mode(tmp_path, case):
    _, data, expected = case
    target = tmp_path / "f.txt"
    target.write_bytes(data)
    os.chmod(target, 0o751)
    result = EditEngine(tmp_path).edit("f.txt", "two", "2")
    assert result.ok, result.message
    assert target.read_bytes() == expected
    assert stat.S_IMODE(target.stat().st_mode) == 0o751


def test_model_text_in_crlf_applies_to_an_lf_file_and_stays_lf(tmp_path):
    (tmp_path / "f.py").write_text("a = 1\nb = 2\n")
    result = EditEngine(tmp_path).edit("f.py", "a = 1\r\nb = 2\r\n", "a = 1\r\nb = 3\r\n")
    assert result.ok and result.layer == "whitespace"
    assert (tmp_path / "f.py").read_bytes() == b"a = 1\nb = 3\n"


def test_unencodable_text_is_refused(tmp_path):
    (tmp_path / "f.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    result = EditEngine(tmp_path).edit("f.txt", "caf", "\u732b")
    assert not result.ok and "cannot be encoded" in result.message


SYNTAX = [
    ("python", "m.py", "def f():\n    return 1\n", "return 1", "return (1"),
    ("javascript", "m.js", "function f() {\n  return 1;\n}\n", "return 1;", "return {1;"),
    ("typescript", "m.ts", "const x: number = 1;\n", "= 1;", "= ;"),
    ("tsx", "m.tsx", "const a = <div>hi</div>;\n", "</div>", "</span"),
    ("go", "m.go", "package m\n\nfunc F() int {\n\treturn 1\n}\n", "return 1", "return (1"),
    ("rust", "m.rs", "fn f() -> i32 {\n    1\n}\n", "    1\n}", "    1\n"),
    ("java", "M.java", "class M {\n  int f() { return 1; }\n}\n", "return 1;", "return 1"),
    ("c", "m.c", "int f(void) {\n  return 1;\n}\n", "return 1;", "return (1;"),
    ("cpp", "m.cpp", "int f() {\n  return 1;\n}\n", "return 1;", "return [1;"),
]


@pytest.mark.parametrize("case", SYNTAX, ids=[c[0] for c in SYNTAX])
def test_an_edit_introducing_a_syntax_error_is_refused_with_line_and_snippet(tmp_path, case):
    _, name, content, old, new = case
    (tmp_path / name).write_text(content)
    result = EditEngine(tmp_path).edit(name, old, new)
    assert not result.ok, result.message
    assert "did not have, at line" in result.message and ">" in result.message
    assert (tmp_path / name).read_text() == content
    assert EditEngine(tmp_path, validate_syntax=False).edit(name, old, new).ok


def test_a_file_already_broken_can_still_be_edited_elsewhere(tmp_path):
    (tmp_path / "m.py").write_text("def f(:\n    pass\n\nx = 1\n")
    assert EditEngine(tmp_path).edit("m.py", "x = 1", "x = 2").ok


def test_not_found_feedback_shows_the_closest_match_and_a_diff(ws):
    result = EditEngine(ws).edit("pkg/mod.py", "def g():\n    return 3\n", "def g():\n    return 4\n")
    assert not result.ok
    assert "edit 1 (edit_file, pkg/mod.py)" in result.message
    assert "closest match is lines 5-6" in result.message
    assert "-    return 3" in result.message and "+    return 2" in result.message


def test_ambiguous_feedback_lists_every_candidate(tmp_path):
    (tmp_path / "f.py").write_text("x = 0\n" * 3)
    result = EditEngine(tmp_path).edit("f.py", "x = 0", "x = 1")
    assert "matches 3 places" in result.message and "lines 1, 2, 3" in result.message
    assert "replace_all" in result.message
    assert EditEngine(tmp_path).edit("f.py", "x = 0", "x = 1", replace_all=True).ok
    assert (tmp_path / "f.py").read_text() == "x = 1\n" * 3


def test_success_message_names_the_changed_lines(ws):
    result = EditEngine(ws).edit("pkg/mod.py", "    return 2\n", "    x = 2\n    return x\n")
    assert result.ok and result.layer == "exact"
    assert "lines 6-7" in result.message and (result.start_line, result.end_line) == (6, 7)
    assert "+    return x" in result.diff


def test_write_creates_overwrites_and_keeps_the_file_style(tmp_path):
    (tmp_path / "w.txt").write_bytes(b"old\r\n")
    engine = EditEngine(tmp_path)
    assert engine.write("w.txt", "new\nlines\n").ok
    assert (tmp_path / "w.txt").read_bytes() == b"new\r\nlines\r\n"
    assert engine.write("fresh/x.txt", "no newline").ok
    assert (tmp_path / "fresh/x.txt").read_bytes() == b"no newline"


def test_a_lazy_placeholder_in_new_is_refused_not_written(ws):
    engine = EditEngine(ws)
    result = engine.edit("pkg/mod.py", "def g():\n    return 2\n", "def g():\n    # ... existing code ...\n    return 3\n")
    assert not result.ok and "existing code" in result.message
    result = engine.write("pkg/mod.py", "def f():\n    return 5\n\n# ... rest of the file unchanged ...\n")
    assert not result.ok and "written literally" in result.message
    assert engine.edit("pkg/mod.py", "    return 2\n", "    ...\n").ok  # Python's Ellipsis is code

"""Parsing every edit format the way models write them, detection, malformed input,
and `codeagent apply` end to end (exit codes, --dry-run, --json, stdin)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from codeagent.edits import EditEngine, EditFormatError, detect_format, parse_edits

SEARCH_REPLACE = '''Here is the fix.

src/app.py
```python
<<<<<<< SEARCH
def f():
    return 1
=======
def f():
    return 2
>>>>>>> REPLACE
```

And a second block in the same file:

```python
<<<<<<< SEARCH
=======
x = 1
>>>>>>> REPLACE
```

**docs/new.md**
```
<<<<<<< SEARCH
=======
# New
>>>>>>> REPLACE
```
'''

UNIFIED = '''```diff
diff --git a/src/app.py b/src/app.py
--- a/src/app.py
+++ b/src/app.py
@@ -1,2 +1,2 @@
 def f():
-    return 1
+    return 2
@@ -40,2 +40,3 @@ class X:
 a
+b
 c
--- /dev/null
+++ b/docs/new.md
@@ -0,0 +1 @@
+# New
--- a/old.txt
+++ /dev/null
@@ -1 +0,0 @@
-gone
```
'''

PATCH = '''*** Begin Patch
*** Update File: src/app.py
*** Move to: src/main.py
@@ def f():
-    return 1
+    return 2
*** Add File: docs/new.md
+# New
*** Delete File: old.txt
*** End Patch
'''


def test_search_replace_blocks_take_the_file_name_from_the_line_before():
    edits = parse_edits(SEARCH_REPLACE)
    assert [(e.path, e.op) for e in edits] == [("src/app.py", "replace"), ("src/app.py", "replace"), ("docs/new.md", "replace")]
    assert edits[0].old == "def f():\n    return 1\n" and edits[0].new == "def f():\n    return 2\n"
    assert edits[1].old == "" and edits[2].new == "# New\n"


def test_unified_diff_hunks_creates_deletes_and_line_hints():
    edits = parse_edits(UNIFIED)
    assert [(e.path, e.op) for e in edits] == [
        ("src/app.py", "replace"), ("src/app.py", "replace"), ("docs/new.md", "create"), ("old.txt", "delete")]
    assert edits[0].old == "def f():\n    return 1\n" and edits[0].line_hint == 1
    assert edits[1].old == "a\nc\n" and edits[1].new == "a\nb\nc\n" and edits[1].line_hint == 40
    assert edits[2].new == "# New\n"


def test_unified_diff_line_hint_follows_earlier_hunks_real_sizes():
    text = "--- a/f\n+++ b/f\n@@ -1,1 +1,3 @@\n x\n+y\n+z\n@@ -10,1 +99,1 @@\n-p\n+q\n"
    edits = parse_edits(text)
    assert edits[1].line_hint == 12


def test_a_hunk_header_with_wrong_counts_gives_no_line_hint():
    text = "--- a/f\n+++ b/f\n@@ -5,3 +5,2 @@\n x\n-y\n+z\n"
    assert parse_edits(text)[0].line_hint is None


def test_unified_context_lines_missing_their_space_are_context_while_the_count_lasts():
    text = "--- a/f.py\n+++ b/f.py\n@@ -1,3 +1,3 @@\ndef f():\n-    return 1\n+    return 2\nx = 1\n```\nprose\n"
    [edit] = parse_edits(text)
    assert edit.old == "def f():\n    return 1\nx = 1\n" and edit.new == "def f():\n    return 2\nx = 1\n"


def test_git_rename_becomes_a_move():
    text = "diff --git a/a.py b/b.py\nsimilarity index 100%\nrename from a.py\nrename to b.py\n"
    edits = parse_edits(text, "unified")
    assert [(e.op, e.path, e.move_to) for e in edits] == [("move", "a.py", "b.py")]


def test_patch_envelope_update_move_add_delete():
    edits = parse_edits(PATCH)
    assert [(e.path, e.op) for e in edits] == [
        ("src/app.py", "replace"), ("src/app.py", "move"), ("docs/new.md", "create"), ("old.txt", "delete")]
    assert edits[0].anchor == "def f():" and edits[1].move_to == "src/main.py"


@pytest.mark.parametrize("text,fmt", [(SEARCH_REPLACE, "search-replace"), (UNIFIED, "unified"), (PATCH, "patch"),
                                      ("just prose, no edits\n--- not a diff\n", None)])
def test_detection(text, fmt):
    assert detect_format(text) == fmt


def test_text_without_edits_is_an_empty_list():
    assert parse_edits("Sure! I think the bug is in f().") == []


MALFORMED = [
    ("search-without-replace", "a.py\n<<<<<<< SEARCH\nx\n=======\ny\n", "missing its '>>>>>>> REPLACE'"),
    ("search-without-divider", "a.py\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n", "missing its '======='"),
    ("search-without-file", "<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n", "no file name"),
    ("patch-without-end", "*** Begin Patch\n*** Update File: a\n@@\n-x\n+y\n", "without '*** End Patch'"),
    ("patch-bad-line", "*** Begin Patch\n*** Update File: a\n@@\nx\n*** End Patch\n", "must start with"),
    ("patch-add-without-plus", "*** Begin Patch\n*** Add File: a\nhello\n*** End Patch\n", "must start with '+'"),
    ("patch-unknown-op", "*** Begin Patch\n*** Frob File: a\n*** End Patch\n", "expected '*** Add/Update"),
    ("diff-without-hunk", "--- a/x\n+++ b/x\nprose\n", "no @@ hunk"),
    ("diff-empty-hunk", "--- a/x\n+++ b/x\n@@ -1 +1 @@\n```\n", "has no lines"),
    ("diff-add-without-anchor", "--- a/x\n+++ b/x\n@@ @@\n+new line\n", "without context or a line number"),
]


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_text_raises_a_clear_error_and_apply_text_writes_nothing(tmp_path, case):
    _, text, message = case
    with pytest.raises(EditFormatError, match=message.replace("*", r"\*").replace("+", r"\+").replace("(", r"\(")):
        parse_edits(text)
    (tmp_path / "a.py").write_text("x\n")
    report = EditEngine(tmp_path).apply_text(text)
    assert not report.ok and "malformed" in report.describe()
    assert (tmp_path / "a.py").read_text() == "x\n"


def test_unknown_format_name_is_a_usage_error(tmp_path):
    with pytest.raises(EditFormatError):
        EditEngine(tmp_path).apply_text("x", fmt="nope")


@pytest.mark.parametrize("text", [SEARCH_REPLACE.split("And a second")[0], UNIFIED.split("@@ -40")[0], PATCH])
def test_each_format_applies_end_to_end(tmp_path, text):
    (tmp_path / "src").mkdir()
    (tmp_path / "src/app.py").write_text("def f():\n    return 1\n")
    (tmp_path / "old.txt").write_text("gone\n")
    report = EditEngine(tmp_path).apply_text(text)
    assert report.ok, report.describe()
    target = tmp_path / ("src/main.py" if "Move to" in text else "src/app.py")
    assert target.read_text() == "def f():\n    return 2\n"


@pytest.fixture
def cli(monkeypatch):
    """Run `codeagent apply ARGS` in-process in a directory: (exit code, stdout, stderr)."""
    import typer
    from typer.testing import CliRunner

    from codeagent.cli import apply_cmd

    app = typer.Typer()
    apply_cmd.register(app)

    @app.callback()
    def _root() -> None:  # keep `apply` a subcommand, as in the real app
        pass

    def run(args, cwd, stdin=""):
        monkeypatch.chdir(cwd)
        result = CliRunner().invoke(app, ["apply", *args], input=stdin)
        code = getattr(result.exception, "exit_code", result.exit_code) if result.exception else result.exit_code
        return code, result.stdout, str(result.exception or "")

    return run


def test_cli_apply_exit_codes_dry_run_and_json(make_repo, cli):
    repo = make_repo({"src/app.py": "def f():\n    return 1\n", "old.txt": "gone\n"})
    good = SEARCH_REPLACE.split("And a second")[0]
    code, out, _ = cli(["--dry-run"], repo, good)
    assert code == 0
    assert "+    return 2" in out and "return 1" in (repo / "src/app.py").read_text()
    code, out, _ = cli(["-", "--json"], repo, good)
    assert code == 0
    report = json.loads(out)
    assert report["kind"] == "apply_report" and report["written"] and report["files_changed"] == ["src/app.py"]
    code, out, _ = cli(["--json"], repo, good)  # old text no longer there
    assert code == 1 and not json.loads(out)["ok"]
    diff = "--- a/src/app.py\n+++ b/src/app.py\n@@ -1,2 +1,2 @@\n def f():\n-    return 2\n+    return 3\n"
    (repo / "edits.diff").write_text(diff)
    code, _, _ = cli(["edits.diff", "--format", "unified"], repo)
    assert code == 0 and "return 3" in (repo / "src/app.py").read_text()


def test_cli_apply_refuses_nothing_found_and_bad_usage(make_repo, cli):
    repo = make_repo({"a.txt": "a\n"})
    assert cli([], repo, "no edits here")[0] == 1
    code, _, error = cli(["nope.txt"], repo)
    assert code == 2 and "cannot read" in error
    code, _, error = cli(["--format", "bogus"], repo, "x")
    assert code == 2 and "unknown --format" in error


@pytest.mark.slow
def test_the_real_entry_point_maps_refusal_to_exit_1(make_repo):
    repo = make_repo({"a.txt": "a\n"})
    edit = "a.txt\n<<<<<<< SEARCH\nzzz\n=======\nb\n>>>>>>> REPLACE\n"
    done = subprocess.run([sys.executable, "-m", "codeagent.cli.main", "apply"], cwd=repo, input=edit,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "not found" in done.stderr
    assert (repo / "a.txt").read_text() == "a\n"

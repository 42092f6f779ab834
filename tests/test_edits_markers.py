"""The elision guard refuses only where lines would really be lost: real code full of
`...` (doctests, Ellipsis bodies, `x[..., 0]`, `Callable[..., T]`, JS spread, prose) is
written back and edited; `# ... rest of the code unchanged` standing in for existing
lines is refused, in write_file and in edit_file. And syntax validation never refuses
an edit for an error the file already had."""

from __future__ import annotations

import pytest

from codeagent.edits import EditEngine
from codeagent.edits.markers import is_marker, is_placeholder, lost_lines

DOCTEST = '''def windows(seq, n):
    """Sliding windows over seq.

    >>> for p in windows(range(4), 2):
    ...     list(p)
    [0, 1]
    [1, 2]
    [2, 3]
    >>> def f(): ...
    ...
    ... existing code ...
    """
    it = iter(seq)
    window = tuple(next(it) for _ in range(n))
    yield window
    for item in it:
        window = window[1:] + (item,)
        yield window
'''

STUBS = '''from typing import Callable, Protocol, TypeVar

T = TypeVar("T")


class Reader(Protocol):
    def read(self, n: int = ...) -> bytes: ...

    def close(self) -> None:
        ...


def apply(f: Callable[..., T], *args: object) -> T:
    # ... and then the call itself (a prose ellipsis)
    first = args[..., 0] if args else None
    return f(*args)
'''

SPREAD = '''// Merge options ... the later ones win.
export function merge(defaults, ...overrides) {
  const out = {
    ...defaults,
  };
  for (const o of overrides) {
    Object.assign(out, o);
  }
  return [...Object.keys(out)].length ? out : {...defaults};
}
'''

PROSE = """Release notes
=============

Wait for it...
...
... and it is done. The rest of the file is unchanged from 1.0.
"""

REAL = [
    ("doctest", "mod.py", DOCTEST, "    for item in it:\n        window = window[1:] + (item,)\n",
     "    for item in it:\n        window = window[1:] + (item,)  # slide\n"),
    ("doctest-lines-edited", "mod.py", DOCTEST, "    >>> for p in windows(range(4), 2):\n    ...     list(p)\n",
     "    >>> for p in windows(range(4), 2):\n    ...     tuple(p)\n"),
    ("stubs", "stubs.pyi", STUBS, "    def close(self) -> None:\n        ...\n",
     "    def close(self) -> None:\n        ...\n\n    def flush(self) -> None: ...\n"),
    ("ellipsis-index", "stubs.pyi", STUBS, "    first = args[..., 0] if args else None\n    return f(*args)\n",
     "    head = args[..., 0] if args else None\n    return f(*args)\n"),
    ("spread", "merge.js", SPREAD, "  for (const o of overrides) {\n    Object.assign(out, o);\n  }\n",
     "  for (const o of overrides) {\n    out = {...out, ...o};\n  }\n"),
    ("prose", "NOTES.rst", PROSE, "Wait for it...\n...\n", "Wait for it ...\n... still waiting\n"),
]


@pytest.mark.parametrize("case", REAL, ids=[c[0] for c in REAL])
def test_real_code_with_ellipses_is_written_back_and_edited(tmp_path, case):
    _, name, content, old, new = case
    path = tmp_path / name
    path.write_text(content)
    engine = EditEngine(tmp_path)
    assert engine.write(name, content).ok
    assert path.read_text() == content
    result = engine.edit(name, old, new)
    assert result.ok, result.message
    assert path.read_text() == content.replace(old, new)


def test_new_code_with_ellipses_may_replace_lines(tmp_path):
    (tmp_path / "m.py").write_text("def f(x):\n    return x + 1\n")
    engine = EditEngine(tmp_path)
    assert engine.write("m.py", "def f(x):\n    ...\n\n\ndef g(*a: int) -> None: ...\n").ok
    (tmp_path / "m.js").write_text("const a = Object.assign({}, b, c);\n")
    assert engine.edit("m.js", "Object.assign({}, b, c)", "{...b, ...c}").ok
    assert (tmp_path / "m.js").read_text() == "const a = {...b, ...c};\n"


ORIGINAL = "import os\n\n\ndef load(path):\n    with open(path) as f:\n        return f.read()\n\n\ndef save(path, data):\n    with open(path, 'w') as f:\n        f.write(data)\n"

ELIDED = [
    ("rest-unchanged", "import os\n\n\ndef load(path):\n    return open(path).read()\n\n\n# ... rest of the code unchanged\n"),
    ("rest-of-file", "import os\n\n# (rest of file unchanged)\n"),
    ("existing-code", "import os\n\n\n// ... existing code ...\n\n\ndef save(path, data):\n    with open(path, 'w') as f:\n        f.write(data)\n"),
]


@pytest.mark.parametrize("case", ELIDED, ids=[c[0] for c in ELIDED])
def test_real_elision_in_write_file_is_refused_naming_the_lost_lines(tmp_path, case):
    _, content = case
    (tmp_path / "m.py").write_text(ORIGINAL)
    result = EditEngine(tmp_path, validate_syntax=False).write("m.py", content)
    assert not result.ok
    assert "would be lost" in result.message and "nowhere in the new content" in result.message
    assert (tmp_path / "m.py").read_text() == ORIGINAL


def test_real_elision_in_edit_file_is_refused_and_the_same_marker_in_old_applies(tmp_path):
    (tmp_path / "m.py").write_text(ORIGINAL)
    engine = EditEngine(tmp_path)
    old = "def load(path):\n    with open(path) as f:\n        return f.read()\n"
    result = engine.edit("m.py", old, "def load(path):\n    # ... rest of the code unchanged\n        return f.read().strip()\n")
    assert not result.ok
    assert ("line 2 of new, '# ... rest of the code unchanged', stands where old has lines 2-3; 2 of those lines "
            "('with open(path) as f:', ...) are nowhere in new") in result.message
    assert (tmp_path / "m.py").read_text() == ORIGINAL
    elided = "def load(path):\n    # ... rest of the code unchanged\n        return f.read()\n"
    result = engine.edit("m.py", elided, elided.replace("f.read()", "f.read().strip()"))
    assert result.ok and result.layer == "elision"
    assert (tmp_path / "m.py").read_text() == ORIGINAL.replace("f.read()", "f.read().strip()")


def test_the_guard_turns_on_lost_lines_not_on_the_marker_itself():
    """One marker line, four placements: only the one that would delete lines is refused."""
    old = "a = 1\nb = 2\nc = 3\nd = 4\n"
    marker = "# ... existing code ..."
    assert lost_lines(old, f"a = 1\n{marker}\nd = 4\n").lost == ["b = 2", "c = 3"]  # stands in for b, c
    assert lost_lines(old, f"a = 1\n{marker}\nb = 2\nc = 3\nd = 4\n") is None  # added, nothing removed
    assert lost_lines(f"a = 1\n{marker}\nd = 4\n", f"a = 1\n{marker}\nd = 5\n") is None  # copied from old
    assert lost_lines(old, f"a = 1\n{marker}\nd = 4\nb = 2\nc = 3\n") is None  # b, c moved, kept
    assert lost_lines(old, "a = 1\n...\nd = 4\n") is None  # a bare `...` is Python's Ellipsis


@pytest.mark.parametrize("line", ["# ...", "    // ... existing code ...", "/* ... */", "<!-- ... -->",
                                  "# ... rest of the code unchanged", "# (rest of file unchanged)",
                                  "// existing code here", "# Rest of the file remains the same", "# ...snip..."])
def test_marker_shapes(line):
    assert is_marker(line) and is_placeholder(line)


@pytest.mark.parametrize("line", ["    ...     list(p)", ">>> ...", "    ...args,", "x[..., 0]", "f: Callable[..., T]",
                                  "# ... and then retry", "# TODO: implement...", "    # Rest of the tokens are below",
                                  "    ...     ...", "return {...a, ...b};"])
def test_code_and_prose_with_ellipses_are_not_markers(line):
    assert not is_marker(line) and not is_placeholder(line)


def test_a_bare_ellipsis_marks_elision_in_old_but_is_code_in_new():
    assert is_marker("    ...") and not is_placeholder("    ...")


BROKEN = "x = 1\nclass A:\n    def f(self):\n        y = [1, 2\n        return y\n\n    def g(self):\n        z = 3\n        return z\n"


def test_an_edit_inside_already_broken_lines_is_not_refused_for_their_error(tmp_path):
    (tmp_path / "m.py").write_text(BROKEN)
    engine = EditEngine(tmp_path)
    result = engine.edit("m.py", "        y = [1, 2\n        return y\n", "        yy = [1, 2\n        return yy\n")
    assert result.ok, result.message
    result = engine.edit("m.py", "        z = 3\n", "        z = (3\n")  # a new error elsewhere still is
    assert not result.ok and "did not have, at line 8" in result.message


def test_binary_and_oversized_files_get_their_own_reason_not_an_elision_refusal(tmp_path):
    (tmp_path / "blob.bin").write_bytes(b"\x89PNG\x00\x00...data")
    (tmp_path / "big.py").write_text("x = 1  # ...\n" * 200)
    engine = EditEngine(tmp_path, max_file_bytes=1_000)
    for name, reason in (("blob.bin", "not a text file"), ("big.py", "over the 1,000-byte limit")):
        for result in (engine.write(name, "# ... rest unchanged\n"), engine.edit(name, "x = 1", "# ...")):
            assert not result.ok and reason in result.message and "lost" not in result.message

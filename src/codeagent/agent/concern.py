"""Which tests a task concerns: the half of the outcome contract that reads the task.

A test is concerned when
  - the instruction names it (its id, or its last part);
  - its name or file matches an identifier of the instruction (`sliding_window` ->
    `test_sliding_window`, `SlidingWindowTests`); identifiers are the instruction's
    snake_case, CamelCase, dotted and `quoted` names, and plain words that the project
    defines as a function or class (`fix f` with a `def f`);
  - it exercises code the change touched (a Python test whose body names a function or
    class whose lines the diff changed);
  - it failed before the run and the instruction asks for the tests to pass.
`Concern.why(test_id)` says which, in words, or None.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

FIX_WORDS = re.compile(r"\b(fix|repair|make|get)\b.*\b(tests?|failing|failures?|pass(es|ing)?|green)\b"
                       r"|\bfailing\b|\btests? (to )?pass\b", re.I)
TOKEN = re.compile(r"`([^`]+)`|'([^'\s]+)'|\"([^\"\s]+)\"|([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)(\(\))?")
WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
DEFINITION = r"(?:def|class|function|func|fn|interface|struct|enum|type|const|let|var)\s+{names}\b"
SOURCE_SUFFIXES = {".py", ".js", ".jsx", ".ts", ".tsx", ".go", ".rs", ".java", ".c", ".h", ".cpp", ".rb"}
SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", ".tox", "build", "dist"}
STOPWORDS = set("""a an the and or but if of to in on at by for with from into as is are be been was were it its this
that these those so not no do does add adds fix fixes make implement update change remove use support create write
test tests new function method class file files bug error issue pass failing should when then than also please
can could would will must all any some one two""".split())
MAX_SCAN_FILES = 20_000
MAX_FILE_BYTES = 1_000_000


def words(text: str) -> tuple[str, ...]:
    return tuple(w.lower() for w in WORD.findall(text))


@dataclass
class Concern:
    instruction: str
    root: Path
    asks_all: bool = False  # the instruction asks for the failing tests to pass
    identifiers: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (shown, words)
    changed_names: set[str] = field(default_factory=set)  # definitions the diff touched

    @classmethod
    def of(cls, instruction: str, root: Path) -> "Concern":
        shaped, plain = _tokens(instruction)
        defined = _defined_names(Path(root), plain) if plain else set()
        idents = [(name, words(name)) for name in shaped + sorted(defined)]
        return cls(instruction, Path(root), bool(FIX_WORDS.search(instruction)),
                   [(n, w) for n, w in idents if w])

    def why(self, test_id: str) -> str | None:
        last = _test_names(test_id)[-1:] or [test_id]
        if test_id in self.instruction or (len(last[0]) > 3 and re.search(rf"\b{re.escape(last[0])}\b",
                                                                           self.instruction)):
            return "named in the task"
        name_words = [words(part) for part in _test_names(test_id)]
        for shown, ident in self.identifiers:
            if any(_contains(w, ident) for w in name_words):
                return f"its name matches `{shown}`"
        if self.changed_names:
            used = _names_used_by_test(self.root, test_id) & self.changed_names
            if used:
                return f"it uses `{sorted(used)[0]}`, which the change touched"
        if self.asks_all:
            return "the task asks for the failing tests to pass"
        return None

    def note_diff(self, diff: str) -> None:
        """Learn which definitions the final diff touched (for the coverage rule)."""
        self.changed_names = changed_definitions(self.root, diff)


def _tokens(instruction: str) -> tuple[list[str], list[str]]:
    """(identifier-shaped names, plain words) of an instruction; paths are left out."""
    text = re.sub(r"\S*[/\\]\S*|\S+\.(py|js|ts|tsx|go|rs|java|c|h|cpp|rb|toml|cfg|ini|json|md|txt)\b", " ",
                  instruction)
    shaped, plain = [], []
    for quoted1, quoted2, quoted3, bare, call in TOKEN.findall(text):
        quoted = quoted1 or quoted2 or quoted3
        for part in re.split(r"[.\s()]+", quoted or bare):
            if not part or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", part):
                continue
            if quoted or call or "_" in part.strip("_") or re.search(r"[a-z][A-Z]", part) or "." in bare:
                if part.lower() not in STOPWORDS or quoted:
                    shaped.append(part)
            elif part.lower() not in STOPWORDS:
                plain.append(part)
    return _unique(shaped), _unique(plain)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _contains(seq: tuple[str, ...], sub: tuple[str, ...]) -> bool:
    n = len(sub)
    return any(seq[i:i + n] == sub for i in range(len(seq) - n + 1))


def _test_names(test_id: str) -> list[str]:
    """The file stem, classes and function of a test id, without parameters."""
    tid = re.sub(r"\[.*\]$", "", test_id)
    if "::" in tid:
        file, *rest = tid.split("::")
        return [Path(file).stem, *rest]
    if " > " in tid:
        file, *rest = tid.split(" > ")
        return [Path(file).stem, *rest]
    return [p for p in re.split(r"[./]", tid) if p and p != "py"][-3:]


def _defined_names(root: Path, candidates: list[str]) -> set[str]:
    """Which of the plain words the project defines (def, class, function, ...)."""
    names = "(" + "|".join(re.escape(c) for c in candidates) + ")"
    pattern = re.compile(DEFINITION.format(names=names).encode(), re.I)
    found: set[str] = set()
    for path in _source_files(root):
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        found.update(m.group(1).decode() for m in pattern.finditer(data))
        if len(found) == len(candidates):
            break
    return found


def _source_files(root: Path):
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")]
        for name in filenames:
            if os.path.splitext(name)[1] in SOURCE_SUFFIXES:
                path = Path(dirpath) / name
                if path.is_file() and not path.is_symlink():
                    count += 1
                    yield path
            if count >= MAX_SCAN_FILES:
                return


# -- the coverage rule ---------------------------------------------------------------

HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@", re.M)


def changed_definitions(root: Path, diff: str) -> set[str]:
    """Names of Python functions and classes whose lines the diff changed (new side)."""
    names: set[str] = set()
    for path, lines in _changed_lines(diff).items():
        if not path.endswith(".py"):
            continue
        tree = _parse(Path(root) / path)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                span = range(node.lineno, (node.end_lineno or node.lineno) + 1)
                if not node.name.startswith("__") and any(n in span for n in lines):
                    names.add(node.name)
    return names


def _changed_lines(diff: str) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    current: set[int] | None = None
    line_no = 0
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = line[4:].strip()
            current = None if target == "/dev/null" else out.setdefault(target[2:] if target.startswith("b/")
                                                                        else target, set())
            continue
        hunk = HUNK.match(line)
        if hunk:
            line_no = int(hunk.group(1))
            continue
        if current is None or line.startswith(("--- ", "diff ", "index ")):
            continue
        if line.startswith("+"):
            current.add(line_no)
            line_no += 1
        elif line.startswith("-"):
            current.add(line_no)  # a deletion touches the line that now stands there
        else:
            line_no += 1
    return out


def _parse(path: Path) -> ast.AST | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            return None
        return ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None


def _names_used_by_test(root: Path, test_id: str) -> set[str]:
    """Names a Python test's function (or class) body mentions; empty when not found."""
    tid = re.sub(r"\[.*\]$", "", test_id)
    if "::" not in tid:
        return set()
    file, *parts = tid.split("::")
    tree = _parse(Path(root) / file)
    node: ast.AST | None = tree
    for part in parts:
        if node is None:
            break
        node = next((n for n in getattr(node, "body", []) if getattr(n, "name", None) == part), None)
    if node is None or node is tree:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | \
           {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}

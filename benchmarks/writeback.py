"""Write-back benchmark: a model that writes a file's own content back, or edits one
real function of it, must never be refused and never change a byte it did not mean to.
Runs on every file of real projects (PyPI sdists), through the real EditEngine in a
temporary git copy of each project:

    python benchmarks/writeback.py [--projects django,sympy,mypy] [--seed 7] [--limit N]

(a) write_file with the file's whole content (as the engine decodes it): the bytes on
disk must stay exactly the same. (b) edit_file with one real function or method as
`old` (found with `ast` for Python, tree-sitter for the other grammars, else a block of
3-12 lines) and a changed `new`: a local variable renamed (Python), or a line inserted
near the function's end, not after a `\\` continuation (`# ... checked by the
write-back benchmark`, itself a prose ellipsis). Functions and blocks holding `...` or
`…` are preferred, so doctest continuation lines, Ellipsis bodies, `x[..., 0]`,
`Callable[..., T]`, JS spread and prose ellipses are what gets edited wherever a file
has them. "wrong" means the engine
reported success with other bytes than expected, or changed any other file (checked
with `git status` at the end). Binary and oversized files must get a clear refusal
(not text / over the limit), never an elision refusal. The sdists are fetched with
pip into benchmarks/.data/ on first use.
"""

from __future__ import annotations

import argparse
import ast
import random
import re
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from codeagent.edits import EditEngine
from codeagent.edits import textfile
from codeagent.edits.validate import parser_for, problems
from sdists import unpacked

PROJECTS = {"django": "5.2.8", "sympy": "1.13.3", "mypy": "1.13.0"}
FUNCTION_NODES = {"function_declaration", "function_expression", "arrow_function", "method_definition",
                  "generator_function_declaration", "function_definition", "method_declaration",
                  "function_item", "constructor_declaration"}
ELLIPSIS = ("...", "\u2026")
NOTE = "... checked by the write-back benchmark"
LEADERS = {".py": "# ", ".pyi": "# ", ".js": "// ", ".mjs": "// ", ".cjs": "// ", ".ts": "// ", ".tsx": "// ",
           ".jsx": "// ", ".c": "// ", ".h": "// ", ".cc": "// ", ".cpp": "// ", ".go": "// ", ".rs": "// ",
           ".java": "// ", ".css": "/* ", ".html": "", ".txt": ""}
IDENT = re.compile(r"[A-Za-z_]\w*")


@dataclass
class Change:
    """One edit_file call: `old` -> `new`, and the whole text it should produce."""

    old: str
    new: str
    expected: str
    kind: str  # rename | insert
    ellipsis: bool  # old holds '...' or '…'


@dataclass
class Figures:
    files: int = 0
    not_text: int = 0
    outcomes: Counter = field(default_factory=Counter)  # (write|edit, correct|refused|wrong)
    unclear: int = 0  # binary / oversized files refused with a message that does not say so
    ellipsis_files: int = 0
    ellipsis_edits: int = 0
    broken: list = field(default_factory=list)  # files that already fail to parse with our grammars
    broken_edits: Counter = field(default_factory=Counter)  # outcomes of the edits on those files
    samples: dict = field(default_factory=dict)  # (what) -> first messages
    stray: list = field(default_factory=list)  # files changed that no edit meant to change

    def note(self, what: str, message: str) -> None:
        self.samples.setdefault(what, [])
        if len(self.samples[what]) < 3:
            self.samples[what].append(message)


# -- the edits a model would make ---------------------------------------------------------


def spans(rel: str, text: str) -> list[tuple[int, int]]:
    """0-based [first, last) line spans of the file's functions, or [] when none are found."""
    if rel.endswith((".py", ".pyi")):
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError):
            return []
        return [(n.lineno - 1, n.end_lineno) for n in ast.walk(tree)
                if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    parser = parser_for(rel)
    if parser is None:
        return []
    found, stack = [], [parser.parse(text.encode("utf-8")).root_node]
    while stack:
        node = stack.pop()
        if node.type in FUNCTION_NODES:
            found.append((node.start_point[0], node.end_point[0] + 1))
        stack.extend(node.children)
    return found


def blocks(lines: list[str], rng: random.Random) -> list[tuple[int, int]]:
    """Blocks of 3-12 lines starting at a non-blank line, for files without functions."""
    out = []
    for first in range(0, len(lines), 7):
        if lines[first].strip():
            out.append((first, min(len(lines), first + rng.randint(3, 12))))
    return out


def make_change(rel: str, text: str, rng: random.Random) -> Change | None:
    lines = text.split("\n")[:-1]
    candidates = [s for s in spans(rel, text) if s[1] - s[0] >= 2] or blocks(lines, rng)
    stripped = "\n" + _join(line.strip() for line in lines)
    unique = [(a, b) for a, b in candidates  # once, also ignoring indentation (a model would add context)
              if b - a >= 2 and stripped.count("\n" + _join(line.strip() for line in lines[a:b])) == 1]
    with_dots = [s for s in unique if any(e in line for line in lines[s[0]:s[1]] for e in ELLIPSIS)]
    if not unique:
        return None
    first, end = rng.choice(with_dots or unique)
    old_lines = lines[first:end]
    new_lines = _rename(rel, old_lines, rng) if rel.endswith((".py", ".pyi")) and rng.random() < 0.5 else None
    kind = "rename"
    if new_lines is None:
        kind = "insert"
        at = next((k for k in range(len(old_lines) - 1, 0, -1) if not old_lines[k - 1].endswith("\\")), None)
        if at is None:
            return None  # every line continues the one before: no place for a line of its own
        line = old_lines[at]
        indent = line[: len(line) - len(line.lstrip())] or _indent(old_lines)
        leader = LEADERS.get(Path(rel).suffix, "")
        closer = " */" if leader == "/* " else ""
        new_lines = old_lines[:at] + [indent + leader + NOTE + closer] + old_lines[at:]
    expected = _join(lines[:first] + new_lines + lines[end:])
    return Change(_join(old_lines), _join(new_lines), expected, kind, bool(with_dots))


def _rename(rel: str, old_lines: list[str], rng: random.Random) -> list[str] | None:
    """Rename one local variable everywhere in the function (as a word)."""
    try:
        tree = ast.parse("\n".join(line[len(_indent(old_lines)):] for line in old_lines))
    except SyntaxError:
        return None
    names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)})
    if not names:
        return None
    name = rng.choice(names)
    word = re.compile(rf"(?<![\w.]){re.escape(name)}\b(?![\'\"])")  # not a string prefix (f"...")
    return [word.sub(name + "_wb", line) for line in old_lines]


def _indent(lines: list[str]) -> str:
    heads = [line[: len(line) - len(line.lstrip())] for line in lines if line.strip()]
    return min(heads, key=len) if heads else ""


def _join(lines) -> str:
    return "".join(line + "\n" for line in lines)


# -- running ----------------------------------------------------------------------------


def workspace(tree: Path, scratch: Path) -> Path:
    root = scratch / tree.name
    shutil.copytree(tree, root, symlinks=True)
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "core.autocrlf=false"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A", "-f"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "sdist"], cwd=root, check=True)
    return root


def run_project(tree: Path, rng: random.Random, scratch: Path, limit: int | None) -> Figures:
    figures = Figures()
    root = workspace(tree, scratch)
    engine = EditEngine(root, durable=False)
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout
    files = [name for name in listed.decode().split("\0") if name][:limit]
    for rel in files:
        path = root / rel
        if path.is_symlink():
            continue
        figures.files += 1
        data = path.read_bytes()
        try:
            style = textfile.decode(data)
        except textfile.NotText:
            style = None
        if style is None or len(data) > engine.max_file_bytes:
            figures.not_text += 1
            message = engine.write(rel, "x\n").message
            if "not a text file" not in message and "byte limit" not in message:
                figures.unclear += 1
            figures.note("not text / too large", message)
            _restore(path, data)
            continue
        text = style.text + "\n" if style.text and not style.text.endswith("\n") else style.text
        figures.ellipsis_files += any(e in text for e in ELLIPSIS)
        result = engine.write(rel, style.text)
        _tally(figures, "write", result, path.read_bytes() == data, rel)
        _restore(path, data)
        change = make_change(rel, text, rng)
        if change is None:
            continue
        figures.ellipsis_edits += change.ellipsis
        result = engine.edit(rel, change.old, change.new)
        right = path.read_bytes() == style.encode(change.expected)
        _tally(figures, "edit", result, right, rel)
        if problems(rel, text):
            figures.broken.append(rel)
            figures.broken_edits["refused" if not result.ok else "correct" if right else "wrong"] += 1
        _restore(path, data)
    status = subprocess.run(["git", "status", "--porcelain", "-uall"], cwd=root, capture_output=True, text=True)
    figures.stray = status.stdout.splitlines()
    return figures


def _tally(figures: Figures, what: str, result, right: bool, rel: str) -> None:
    outcome = "refused" if not result.ok else "correct" if right else "wrong"
    figures.outcomes[(what, outcome)] += 1
    if outcome != "correct":
        figures.note(f"{what} {outcome}", f"{rel}: {result.message}")


def _restore(path: Path, data: bytes) -> None:
    if path.read_bytes() != data:
        path.write_bytes(data)


def report(name: str, version: str, figures: Figures, seconds: float) -> None:
    o = figures.outcomes
    tried = {what: o[(what, "correct")] + o[(what, "refused")] + o[(what, "wrong")] for what in ("write", "edit")}
    print(f"{name} {version}: {figures.files:,} files, {figures.not_text} binary or oversized "
          f"({figures.unclear} without a clear message), {figures.ellipsis_files:,} text files hold '...' "
          f"({seconds:.0f} s)")
    for what, label in (("write", "write_file whole content"), ("edit", "edit_file one function")):
        print(f"  {label:<26} tried {tried[what]:>6,}  refused {o[(what, 'refused')]:>4}  "
              f"wrong {o[(what, 'wrong')]:>4}")
    print(f"  edits whose old holds '...': {figures.ellipsis_edits:,}; files changed by no edit: {len(figures.stray)}")
    b = figures.broken_edits
    print(f"  edits on files that already fail to parse with our grammars: {sum(b.values())} "
          f"(refused {b['refused']}, wrong {b['wrong']}), e.g. {', '.join(figures.broken[:3]) or '-'}")
    for what, messages in sorted(figures.samples.items()):
        for message in messages:
            print(f"    [{what}] {message[:300]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", default=",".join(PROJECTS))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--limit", type=int, default=None, help="at most this many files per project")
    parser.add_argument("--dir", default="/dev/shm" if Path("/dev/shm").is_dir() else None,
                        help="where the scratch copies live (default: /dev/shm)")
    args = parser.parse_args()
    totals = Counter()
    for name in args.projects.split(","):
        version = PROJECTS[name]
        tree = unpacked(name, version, fetch=True)
        began = time.perf_counter()
        with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
            figures = run_project(tree, random.Random(args.seed), Path(scratch), args.limit)
        report(name, version, figures, time.perf_counter() - began)
        totals.update({k: v for k, v in figures.outcomes.items() if k[1] != "correct"})
        totals["stray"] += len(figures.stray)
    refused = totals[("write", "refused")] + totals[("edit", "refused")]
    wrong = totals[("write", "wrong")] + totals[("edit", "wrong")] + totals["stray"]
    print(f"all projects: {refused} refused, {wrong} wrong (target: 0 and 0)")


if __name__ == "__main__":
    main()

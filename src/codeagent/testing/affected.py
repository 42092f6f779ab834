"""Which Python test files a change can affect: `affected_tests(root, changed_files)`.

A test file is affected when it changed itself, when a `conftest.py` above it
changed, or when it imports (directly or through other project modules) a module
that changed. Imports are read with `ast`, nothing is executed. The result is a
list of test file paths relative to `root`, usable as a pytest or unittest selection.
"""

from __future__ import annotations

import ast
from pathlib import Path

from codeagent.testing.detect import SKIP_DIRS

MAX_FILE_BYTES = 1_000_000


def is_test_file(rel: str) -> bool:
    name = Path(rel).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def affected_tests(root: Path, changed_files: list[str]) -> list[str]:
    root = Path(root)
    files = _python_files(root)
    modules = {_module_name(root, f): f for f in files}
    changed = {str(Path(c)) for c in changed_files}
    tests = sorted(f for f in files if is_test_file(f))
    hit = {t for t in tests if t in changed}
    for conftest in (c for c in changed if Path(c).name == "conftest.py"):
        folder = str(Path(conftest).parent)
        hit |= {t for t in tests if folder in ("", ".") or t.startswith(folder + "/")}
    reached = {m for m, f in modules.items() if f in changed}
    importers = _reverse_imports(root, modules)
    frontier = list(reached)
    while frontier:
        module = frontier.pop()
        for importer in importers.get(module, ()):
            if importer not in reached:
                reached.add(importer)
                frontier.append(importer)
    hit |= {modules[m] for m in reached if is_test_file(modules[m])}
    return sorted(hit)


def _python_files(root: Path) -> list[str]:
    found, stack = [], [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir() and entry.name not in SKIP_DIRS and not entry.name.startswith("."):
                stack.append(entry)
            elif entry.suffix == ".py" and entry.is_file():
                found.append(str(entry.relative_to(root)))
    return found


def _module_name(root: Path, rel: str) -> str:
    """Dotted name: the file's package chain (folders with __init__.py) plus its stem."""
    path = root / rel
    parts = [] if path.stem == "__init__" else [path.stem]
    folder = path.parent
    while folder != root and (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts) or path.parent.name


def _reverse_imports(root: Path, modules: dict[str, str]) -> dict[str, set[str]]:
    """module -> the project modules that import it."""
    reverse: dict[str, set[str]] = {}
    for module, rel in modules.items():
        for target in _imports(root / rel, module, rel.endswith("__init__.py")):
            for candidate in _candidates(target, modules):
                reverse.setdefault(candidate, set()).add(module)
    return reverse


def _candidates(target: str, modules: dict[str, str]) -> list[str]:
    """`a.b.c` may name module a.b.c or an attribute of a.b; a package import loads its parents."""
    out, parts = [], target.split(".")
    for i in range(len(parts), 0, -1):
        name = ".".join(parts[:i])
        if name in modules:
            out.append(name)
    return out


def _imports(path: Path, module: str, is_package: bool) -> set[str]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return set()
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return set()
    names: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".") if package else []
                anchor = anchor[: len(anchor) - (node.level - 1)] if node.level > 1 else anchor
                base = ".".join(p for p in (*anchor, base) if p)
            names.add(base)
            names |= {f"{base}.{alias.name}" if base else alias.name for alias in node.names}
    return names


def first_selection(root: Path, runner: str, baseline_failed: list[str], changed_files: list[str]) -> list[str]:
    """What to run before the full suite: the baseline's failing tests, then the test files
    the change reaches (pytest and unittest only; other runners get the failing ids)."""
    chosen = list(dict.fromkeys(baseline_failed))
    if runner in ("pytest", "unittest"):
        chosen += [f for f in affected_tests(root, changed_files) if f not in chosen]
    return chosen

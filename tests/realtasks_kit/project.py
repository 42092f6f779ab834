"""Real projects turned into tasks: copy an unpacked PyPI sdist, cut something out of it
(a function body, a line, a name), commit the result as a git repo, and later check an
outcome independently by running the project's own tests with plain pytest.

The cut is made from the original source with `ast`, so the solution a scripted model
writes is the project's real code, not something made up for the test."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

SDISTS = Path(__file__).resolve().parent.parent / "data" / "sdists"
PROJECTS = {
    "more-itertools": "more-itertools-10.5.0",
    "toolz": "toolz-1.0.0",
    "inflection": "inflection-0.5.1",
    "idna": "idna-3.10",
    "tabulate": "tabulate-0.9.0",
}
STUB = "raise NotImplementedError"


class MissingProject(Exception):
    """The sdist is not unpacked: run tests/data/fetch_sdists.py."""


def source_dir(project: str) -> Path:
    path = SDISTS / PROJECTS[project]
    if not path.is_dir():
        raise MissingProject(f"{path} is missing: run python tests/data/fetch_sdists.py")
    return path


def copy_project(project: str, dest: Path) -> Path:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "*.egg-info")
    return Path(shutil.copytree(source_dir(project), dest, ignore=ignore))


@dataclass
class Body:
    """A function's body as it is in the original project (after its docstring)."""

    path: str
    name: str  # "func" or "Class.method"
    text: str  # the body lines, with their indentation and final newline
    indent: str


def _find_def(tree: ast.Module, name: str) -> ast.FunctionDef:
    scope: list[ast.stmt] = tree.body
    *outer, last = name.split(".")
    for cls in outer:
        scope = next(n for n in scope if isinstance(n, ast.ClassDef) and n.name == cls).body
    return next(n for n in scope if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == last)


def _body_span(node: ast.FunctionDef) -> tuple[int, int]:
    """1-based first and last line of the body after the docstring."""
    first = node.body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
        and isinstance(first.value.value, str)
    start = node.body[1].lineno if has_doc else first.lineno
    return start, node.end_lineno


def cut_body(root: Path, path: str, name: str) -> Body:
    """Replace a function's body (keeping signature and docstring) with a stub; return the real body."""
    file = root / path
    text = file.read_text()
    lines = text.splitlines(keepends=True)
    start, end = _body_span(_find_def(ast.parse(text), name))
    body = "".join(lines[start - 1:end])
    indent = body[: len(body) - len(body.lstrip())].split("\n")[-1]
    file.write_text("".join(lines[: start - 1]) + f"{indent}{STUB}\n" + "".join(lines[end:]))
    return Body(path, name, body, indent)


def remove_def(root: Path, path: str, name: str) -> str:
    """Remove a whole top-level function (and the blank lines after it); return its source."""
    file = root / path
    text = file.read_text()
    lines = text.splitlines(keepends=True)
    node = _find_def(ast.parse(text), name)
    start = (node.decorator_list[0].lineno if node.decorator_list else node.lineno) - 1
    end = node.end_lineno
    while end < len(lines) and not lines[end].strip():
        end += 1
    file.write_text("".join(lines[:start] + lines[end:]))
    return "".join(lines[start:end])


def replace_once(root: Path, path: str, old: str, new: str) -> None:
    file = root / path
    text = file.read_text()
    if text.count(old) != 1:
        raise ValueError(f"{old!r} occurs {text.count(old)} times in {path}, not once")
    file.write_text(text.replace(old, new))


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "realtasks", "GIT_AUTHOR_EMAIL": "realtasks@example.com",
           "GIT_COMMITTER_NAME": "realtasks", "GIT_COMMITTER_EMAIL": "realtasks@example.com"}
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True, env=env).stdout


def commit_repo(root: Path, message: str = "the project, with the task cut out") -> Path:
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return root


# -- the independent check ---------------------------------------------------------------

def failing_tests(root: Path, scratch: Path, timeout: float = 900) -> set[str]:
    """`file::name` of every failing or erroring test, from plain pytest's own JUnit XML,
    run outside codeagent and outside any sandbox. A collection error counts as a failure."""
    scratch.mkdir(parents=True, exist_ok=True)
    xml = scratch / f"junit-{root.name}-{os.getpid()}.xml"
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}"],
                          cwd=root, capture_output=True, text=True, timeout=timeout, env=env)
    if not xml.is_file():
        return {f"<pytest exit {proc.returncode}: {proc.stdout[-300:]}>"}
    failed = set()
    for case in ET.parse(xml).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.add(f"{case.get('classname')}::{case.get('name')}")
    xml.unlink()
    return failed or ({f"<pytest exit {proc.returncode}>"} if proc.returncode not in (0, 5) else set())


def apply_diff(root: Path, diff: str) -> bool:
    """Apply a run's final diff to a checkout of the task repo; False when it does not apply."""
    if not diff.strip():
        return True
    proc = subprocess.run(["git", "apply", "--whitespace=nowarn", "-"], cwd=root, input=diff, text=True,
                          capture_output=True)
    return proc.returncode == 0

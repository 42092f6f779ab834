"""The hook's fast path: decide with one git call whether anything relevant is staged.

Stdlib only, so `python -m codeagent.hooks` can answer "nothing to check" without
importing typer, pydantic or gitpython.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
from pathlib import Path
from typing import Iterable


def staged_paths(repo: Path) -> list[str] | None:
    """Paths that differ between HEAD (or the empty tree) and the index; None if git fails."""
    proc = subprocess.run(
        ["git", "diff", "--cached", "--name-only", "-z", "--no-renames"],
        cwd=repo, capture_output=True,
    )
    if proc.returncode != 0:
        return None
    return [p for p in os.fsdecode(proc.stdout).split("\0") if p]


def matches_any(path: str, globs: Iterable[str]) -> bool:
    """True when `path` or its file name matches one of `globs` (fnmatch, `*` spans `/`)."""
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(path, g) or fnmatch.fnmatchcase(name, g) for g in globs)


def relevant_paths(paths: Iterable[str], skip_globs: Iterable[str]) -> list[str]:
    """The staged paths some check covers: everything not matched by `skip_globs`."""
    globs = list(skip_globs)
    return [p for p in paths if not matches_any(p, globs)]

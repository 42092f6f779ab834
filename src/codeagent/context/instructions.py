"""Project instructions for the system prompt: AGENTS.md and CODEAGENT.md in every
folder from the repo root down to the working directory, root first, so the most
specific file comes last (and wins where they disagree). Each part is headed by the
file it came from. Over the byte cap, the deepest files are kept whole first and the
next one is cut with a marker saying how much was left out."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

NAMES = ("AGENTS.md", "CODEAGENT.md")
DEFAULT_MAX_BYTES = 16_000


def instruction_files(root: Path, cwd: Path | None = None) -> list[Path]:
    """The instruction files that apply in `cwd`, root first."""
    root = root.resolve()
    folders = [root]
    if cwd is not None:
        here = cwd.resolve()
        if here != root and here.is_relative_to(root):
            for part in here.relative_to(root).parts:
                folders.append(folders[-1] / part)
    found = []
    for folder in folders:
        for name in NAMES:
            path = folder / name
            if path.is_file() and path.resolve().is_relative_to(root):
                found.append(path)
    return found


def load_project_instructions(root: Path, cwd: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The applicable instruction files as one text, at most `max_bytes` UTF-8 bytes."""
    root = root.resolve()
    parts: list[tuple[str, str]] = []
    for path in instruction_files(root, cwd):
        try:
            body = path.read_bytes().decode("utf-8", "replace").strip()
        except OSError as exc:
            log.warning("cannot read %s: %s", path, exc)
            continue
        if body:
            parts.append((path.relative_to(root).as_posix(), body))
    return _fit(parts, max_bytes)


def _heading(rel: str) -> str:
    return f"## Instructions from {rel}\n\n"


def _fit(parts: list[tuple[str, str]], max_bytes: int) -> str:
    kept: list[str] = []
    left = max_bytes
    for rel, body in reversed(parts):  # deepest first: the most specific wins the space
        block = _heading(rel) + body + "\n"
        size = len(block.encode())
        if size <= left:
            kept.append(block)
            left -= size + 1
            continue
        head = _heading(rel)
        room = left - len(head.encode()) - 64
        if room > 200:
            cut = body.encode()[:room].decode("utf-8", "ignore")
            omitted = len(body.encode()) - len(cut.encode())
            kept.append(f"{head}{cut}\n[... {omitted} bytes of {rel} omitted: instruction size cap]\n")
        break
    return "\n".join(reversed(kept))

"""Stack frames found in failure text (Python, pytest's short tracebacks, Node,
Go, Rust), split into project frames and library frames for the digest."""

from __future__ import annotations

import re
from dataclasses import dataclass

PATTERNS = [
    re.compile(r'^\s*File "(?P<path>[^"]+)", line (?P<line>\d+), in (?P<func>\S+)'),  # traceback
    re.compile(r"^(?P<path>[^\s:]+\.py):(?P<line>\d+): in (?P<func>\S+)$"),  # pytest --tb=short
    re.compile(r"^\s*at (?:(?P<func>[^()]+?) \()?(?P<path>(?:file://)?[^\s()]+?):(?P<line>\d+):\d+\)?$"),  # node
    re.compile(r"^\s*(?P<path>[\w./-]+\.(?:go|rs)):(?P<line>\d+)(?::\d+)?(?::|\s|$)"),  # go / rust
]
LIBRARY_MARKERS = ("site-packages", "dist-packages", "/lib/python", "node_modules", "node:", "/.cargo/",
                   "/rustc/", "/usr/lib/go", "/usr/local/go", "<frozen", "/.pyenv/", "internal/")


@dataclass
class Frame:
    path: str
    line: int
    func: str
    code: str  # the source line shown under the frame, when the text has it
    project: bool


def find_frames(text: str, root: str = "") -> list[Frame]:
    lines = text.splitlines()
    frames: list[Frame] = []
    for i, line in enumerate(lines):
        for pattern in PATTERNS:
            match = pattern.match(line)
            if not match:
                continue
            path = match.group("path").removeprefix("file://")
            code = ""
            if pattern is not PATTERNS[2] and i + 1 < len(lines) and lines[i + 1].startswith("    "):
                code = lines[i + 1].strip()
            frames.append(Frame(_short(path, root), int(match.group("line")),
                                (match.groupdict().get("func") or "").strip(), code, _is_project(path, root)))
            break
    return frames


def _short(path: str, root: str) -> str:
    if root and path.startswith(root.rstrip("/") + "/"):
        return path[len(root.rstrip("/")) + 1:]
    return path


def _is_project(path: str, root: str) -> bool:
    if any(marker in path for marker in LIBRARY_MARKERS):
        return False
    return not path.startswith("/") or bool(root and path.startswith(root.rstrip("/") + "/"))


def render_frames(frames: list[Frame], limit: int = 6) -> list[str]:
    """Project frames as `path:line in func: code`, library frames folded into one line."""
    project = [f for f in frames if f.project]
    library = [f for f in frames if not f.project]
    shown = project[-limit:]
    out = [f"{f.path}:{f.line}" + (f" in {f.func}" if f.func else "") + (f": {f.code}" if f.code else "")
           for f in shown]
    if len(project) > len(shown):
        out.insert(0, f"(+{len(project) - len(shown)} earlier project frames)")
    if library:
        names = []
        for f in library:
            short = "/".join(f.path.split("/")[-2:])
            if short not in names:
                names.append(short)
        out.append(f"(+{len(library)} library frames folded: {', '.join(names[:4])}"
                   + (", ..." if len(names) > 4 else "") + ")")
    return out

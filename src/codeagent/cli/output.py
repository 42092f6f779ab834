"""Shared rendering helpers for commands: people get rich text on stderr; machines
get JSONL on stdout. Honours NO_COLOR and non-TTY."""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console
from rich.markup import escape

from codeagent.redact import Redactor

_stderr: Console | None = None
_stdout: Console | None = None


def stderr_console() -> Console:
    global _stderr
    if _stderr is None:
        _stderr = Console(stderr=True, no_color=bool(os.environ.get("NO_COLOR")), highlight=False)
    return _stderr


def stdout_console() -> Console:
    global _stdout
    if _stdout is None:
        _stdout = Console(no_color=bool(os.environ.get("NO_COLOR")), highlight=False, soft_wrap=True)
    return _stdout


def error(message: str) -> None:
    stderr_console().print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def warn(message: str) -> None:
    stderr_console().print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def emit_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(Redactor().dumps(obj) + "\n")
    sys.stdout.flush()

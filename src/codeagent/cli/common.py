"""Options and helpers shared by the commands that run the agent."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from codeagent.config import LoadedSettings, load_settings
from codeagent.events import EventBus
from codeagent.gitutil import find_repo_root
from codeagent.runner import RunResult


def settings_for(cwd: Path, **flags: Any) -> LoadedSettings:
    """Layered settings for the repo containing `cwd`, with flags on top."""
    return load_settings(find_repo_root(cwd) or cwd, flags)


def attach_renderer(bus: EventBus, as_json: bool, console: Console):
    """JSONL on stdout for machines, or the rich view on stderr for people."""
    if as_json:
        from codeagent.ui.jsonl import JsonlRenderer

        renderer = JsonlRenderer()
        bus.subscribe(renderer)
        return None
    from codeagent.ui.live import RunView

    view = RunView(console)
    bus.subscribe(view)
    bus.subscribe_deltas(view.delta)
    return view


def print_result(result: RunResult, console: Console, *, show_diff: bool = True) -> None:
    colour = "green" if result.exit_code == 0 else ("yellow" if result.exit_code == 1 else "red")
    console.print(f"\n[bold {colour}]{result.status}[/] ({result.reason}) in {result.wall_time:.1f}s, "
                  f"{result.steps} model calls, {result.usage.total_tokens:,} tokens, ${result.usage.cost:.4f}")
    if result.summary:
        console.print(f"summary: {result.summary}")
    if result.failing:
        console.print(f"[red]still failing (the task concerns them):[/] {', '.join(result.failing[:20])}",
                      highlight=False)
    if result.unrelated_failing:
        console.print(f"[yellow]still failing (not this task's):[/] {', '.join(result.unrelated_failing[:20])}",
                      highlight=False)
    if show_diff and result.diff:
        from rich.syntax import Syntax

        console.print(Syntax(result.diff, "diff", theme="ansi_dark", background_color="default"))
    if result.applied:
        console.print("[green]applied to your tree[/]")
    elif result.patch_path:
        console.print(f"patch saved: {result.patch_path}")
    console.print(f"session: {result.session_id} ({result.session_dir})")


def confirm_apply(console: Console):
    """On a terminal, ask before applying; elsewhere apply without asking."""
    if not (sys.stdin.isatty() and console.is_terminal):
        return None

    def ask(stat: str) -> bool:
        console.print(stat)
        return typer.confirm("Apply these changes to your working tree?", default=True)

    return ask

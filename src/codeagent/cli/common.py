"""Options and helpers shared by the commands that run the agent."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

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


HEADLINES = {
    "apply_conflict": "done, but not applied: you changed the same lines meanwhile",
    "not_applied_by_user": "done, not applied (you declined)",
    "interrupted": "interrupted",
}


def headline(result: RunResult) -> str:
    """The result's first line, rendered from its status and reason only."""
    if result.reason in HEADLINES:
        return HEADLINES[result.reason]
    return f"{result.status.replace('_', ' ')} ({result.reason})"


def print_diff(console: Console, diff: str) -> None:
    """The whole diff, line by line, never cut at the screen's width."""
    from rich.text import Text

    styles = {"+": "green", "-": "red", "@": "cyan"}
    for line in diff.splitlines():
        style = "bold" if line.startswith(("+++", "---", "diff ")) else styles.get(line[:1], "")
        console.print(Text(line, style=style), soft_wrap=True, overflow="ignore", crop=False)


def print_result(result: RunResult, console: Console, *, show_diff: bool = True, apply: str = "worktree",
                 branch: str | None = None) -> None:
    colour = "green" if result.exit_code == 0 else ("yellow" if result.exit_code == 1 else "red")
    console.print(f"\n[bold {colour}]{escape(headline(result))}[/] in {result.wall_time:.1f}s, "
                  f"{result.steps} model calls, {result.usage.total_tokens:,} tokens, ${result.usage.cost:.4f}")
    if result.summary:
        console.print(f"summary: {escape(result.summary)}", soft_wrap=True)
    if result.failing:
        console.print(f"[red]still failing (the task concerns them):[/] {', '.join(result.failing[:20])}",
                      highlight=False, soft_wrap=True)
    if result.unrelated_failing:
        console.print(f"[yellow]still failing (not this task's):[/] {', '.join(result.unrelated_failing[:20])}",
                      highlight=False, soft_wrap=True)
    if show_diff and result.diff:
        print_diff(console, result.diff)
    if result.applied:
        console.print("[green]" + {"commit": "committed on your current branch",
                                   "branch": f"left on branch {branch}; your checkout is untouched",
                                   "patch": f"patch written to {result.patch_path}"}.get(
            apply, "applied to your working tree (uncommitted)") + "[/]")
    elif result.patch_path:
        console.print(f"patch saved: {result.patch_path}  (apply it with: git apply {result.patch_path})")
    console.print(f"session: {result.session_id} ({result.session_dir})")
    if result.status == "interrupted" and result.session_id:
        console.print(f"resume with: codeagent resume {result.session_id}")


class ConfirmApply:
    """On a terminal, show the whole diff and ask before applying (the live panel pauses)."""

    def __init__(self, console: Console, view=None):
        self.console, self.view = console, view
        self.shown = False  # the diff was shown: the result need not print it again

    def __call__(self, stat: str, diff: str) -> bool:
        from contextlib import nullcontext

        with self.view.paused() if self.view is not None else nullcontext():
            print_diff(self.console, diff)
            self.console.print(stat, highlight=False, soft_wrap=True)
            self.shown = True
            return typer.confirm("Apply these changes to your working tree?", default=True, err=True)


def confirm_apply(console: Console, view=None) -> ConfirmApply | None:
    """On a terminal, ask before applying; elsewhere apply without asking."""
    if not (sys.stdin.isatty() and console.is_terminal):
        return None
    return ConfirmApply(console, view)

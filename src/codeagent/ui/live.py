"""The people's view of a run. On a terminal: a rich live panel (plan with step
status, current action, tests, tokens, cost, elapsed). Elsewhere: plain lines."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text
from rich.tree import Tree

from codeagent.events import Event

MARKS = {"pending": "○", "in_progress": "◐", "done": "●", "skipped": "–"}


def plan_tree(steps: list[dict[str, Any]], title: str = "Plan") -> Tree:
    tree = Tree(f"[bold]{title}[/]")
    for i, step in enumerate(steps, 1):
        node = tree.add(f"{MARKS.get(step.get('status', 'pending'), '○')} {i}. {step['what']}")
        if step.get("files"):
            node.add(f"[dim]files: {', '.join(step['files'])}[/]")
        if step.get("done_when"):
            node.add(f"[dim]done when: {step['done_when']}[/]")
    return tree


class RunView:
    """Subscribes to the run's events. Use as a context manager around the run."""

    def __init__(self, console: Console, *, live: bool | None = None):
        self.console = console
        self.live_enabled = console.is_terminal if live is None else live
        self.started = time.monotonic()
        self.plan: list[dict[str, Any]] = []
        self.action = "starting"
        self.tests = "baseline not run yet"
        self.usage: dict[str, Any] = {}
        self.step = 0
        self.streaming = ""  # the model's text so far in the current reply
        self._live: Live | None = None

    def __enter__(self) -> "RunView":
        if self.live_enabled:  # the panel is rendered from `__rich__` at each refresh
            self._live = Live(self, console=self.console, refresh_per_second=4, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._live:
            self._live.refresh()
            self._live.__exit__(*exc)

    @contextmanager
    def paused(self):
        """Stop redrawing the panel (a question is being asked on the terminal)."""
        if self._live is None:
            yield
            return
        self._live.stop()
        try:
            yield
        finally:
            self._live.start()

    def __rich__(self) -> Panel:
        return self._render()

    def __call__(self, event: Event) -> None:
        handler = getattr(self, f"_on_{event.kind}", None)
        if handler:
            handler(event.data)
        if self._live:
            self._live.refresh()

    def delta(self, text: str) -> None:
        """Streamed model text: shown in the panel at its next refresh (4 a second)."""
        self.streaming = (self.streaming + text)[-2000:]

    def _say(self, text: str) -> None:
        if self._live:
            self._live.console.print(text, highlight=False)
        else:
            self.console.print(text, highlight=False)

    def _on_session_start(self, d: dict) -> None:
        self._say(f"[bold]codeagent[/] session {d['session_id']} · model {d['model']} · sandbox {d['sandbox']}")

    def _on_test_command(self, d: dict) -> None:
        self._say(f"tests: [cyan]{d['cmd']}[/] ({d['reason']})")

    def _on_test_report(self, d: dict) -> None:
        label = {"baseline": "baseline", "final": "final"}.get(d.get("phase"), "tests")
        self.tests = f"{label}: {d.get('passed', 0)} passed, {d.get('failed', 0)} failed"
        if d.get("regressions"):
            self.tests += f", {len(d['regressions'])} regressions"
        self._say(self.tests)

    def _on_plan(self, d: dict) -> None:
        self.plan = d.get("steps", [])
        if not self._live:
            self.console.print(plan_tree(self.plan))

    _on_replan = _on_plan

    def _on_tool_call(self, d: dict) -> None:
        self.step = d.get("step", self.step)
        self.action = f"{d['name']} {short_args(d.get('arguments', ''))}"
        self._say(f"[dim]step {self.step}[/] {escape(self.action)}")

    def _on_tool_result(self, d: dict) -> None:
        if not d.get("ok"):
            first = (d.get("output") or "").strip().splitlines()[:1]
            self._say(f"  [yellow]✗ {d['name']}[/]: {first[0][:150] if first else ''}")

    def _on_message(self, d: dict) -> None:
        self._say(f"[italic]{escape(d['text'][:300])}[/]")

    def _on_usage(self, d: dict) -> None:
        self.usage = d
        self.streaming = ""  # the reply is complete; what it does comes as events

    def _on_warning(self, d: dict) -> None:
        self._say(f"[yellow]warning:[/] {d['message']}")

    def _on_rollback(self, d: dict) -> None:
        self._say(f"[magenta]rolled back[/] to checkpoint {d['sha'][:10]}")

    def _on_compaction(self, d: dict) -> None:
        self._say(f"[dim]context compacted ({d.get('tokens_after', 0):,} tokens now)[/]")

    def _render(self) -> Panel:
        u = self.usage
        tokens = u.get("prompt_tokens", 0) + u.get("completion_tokens", 0)
        status = Text.from_markup(
            f"step {self.step} · [cyan]{self.action[:90]}[/]\n{self.tests}\n"
            f"tokens {tokens:,} · cost ${u.get('cost', 0):.4f} · {time.monotonic() - self.started:.0f}s"
        )
        parts = [plan_tree(self.plan)] if self.plan else []
        if self.streaming.strip():
            last = self.streaming.strip().splitlines()[-1]
            parts.append(Text(f"model: {last[-100:]}", style="italic dim"))
        return Panel(Group(*parts, status), title="codeagent", border_style="blue")


def short_args(raw: str, limit: int = 80) -> str:
    import json

    try:
        args = json.loads(raw)
    except (ValueError, TypeError):
        return raw[:limit]
    if not isinstance(args, dict):
        return raw[:limit]
    key = next((k for k in ("path", "command", "pattern", "selection", "summary") if k in args), None)
    return str(args[key])[:limit] if key else ""

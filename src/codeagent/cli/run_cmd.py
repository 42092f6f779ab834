"""`codeagent run` and `codeagent resume`: the agent on the current repository."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional

import typer

from codeagent.cli.common import attach_renderer, confirm_apply, print_result, settings_for
from codeagent.cli.output import emit_json, stderr_console
from codeagent.errors import ConfigError
from codeagent.events import EventBus
from codeagent.runner import RunRequest, run_task


def _apply_mode(commit: bool, branch: str | None, patch: Path | None) -> str:
    chosen = [m for m, on in (("commit", commit), ("branch", branch), ("patch", patch)) if on]
    if len(chosen) > 1:
        raise ConfigError(f"choose one of --commit, --branch, --patch (got {', '.join(chosen)})")
    return chosen[0] if chosen else "worktree"


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        instruction: str = typer.Argument(..., help="What to do, in plain words; `-` reads it from stdin."),
        model: Optional[str] = typer.Option(None, "--model", "-m", help="Model name."),
        base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint."),
        test_cmd: Optional[str] = typer.Option(None, "--test-cmd", help="Command that runs the tests."),
        sandbox: Optional[str] = typer.Option(None, "--sandbox", help="auto | bwrap | none."),
        allow_network: Optional[bool] = typer.Option(None, "--allow-network", help="Let commands reach the network."),
        max_steps: Optional[int] = typer.Option(None, "--max-steps", help="Cap on model calls."),
        max_tokens: Optional[int] = typer.Option(None, "--max-tokens", help="Cap on tokens."),
        max_cost: Optional[float] = typer.Option(None, "--max-cost", help="Cap on cost in USD."),
        max_time: Optional[float] = typer.Option(None, "--max-time", help="Cap on wall time in seconds."),
        attempts: Optional[int] = typer.Option(None, "--attempts", help="Independent attempts; keep the best."),
        commit: bool = typer.Option(False, "--commit", help="Commit the result on the current branch."),
        branch: Optional[str] = typer.Option(None, "--branch", help="Leave the result on a new branch."),
        patch: Optional[Path] = typer.Option(None, "--patch", help="Only write the result as a patch file."),
        plan_only: bool = typer.Option(False, "--plan-only", help="Print the plan and stop."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Apply without asking."),
        as_json: bool = typer.Option(False, "--json", help="JSONL events on stdout."),
        session_dir: Optional[Path] = typer.Option(None, "--session-dir", help="Where the session log goes."),
    ) -> None:
        """Carry out an instruction: plan, edit, test, repair; apply when the tests pass."""
        instruction = read_instruction(instruction)
        loaded = settings_for(Path.cwd(), model=model, base_url=base_url, test_cmd=test_cmd, sandbox=sandbox,
                              allow_network=allow_network, max_steps=max_steps, max_tokens=max_tokens,
                              max_cost=max_cost, max_time=max_time, attempts=attempts,
                              session_dir=str(session_dir) if session_dir else None)
        settings = loaded.settings
        console = stderr_console()
        bus = EventBus()
        view = attach_renderer(bus, as_json, console)
        confirm = None if (yes or as_json) else confirm_apply(console, view)
        request = RunRequest(repo=Path.cwd(), instruction=instruction, settings=settings,
                             apply=_apply_mode(commit, branch, patch), branch=branch, patch_path=patch,
                             plan_only=plan_only, bus=bus,
                             session_root=Path(settings.session_dir) if settings.session_dir else None,
                             confirm=confirm)
        result = _run(request, view)
        _report(result, request, console, as_json, confirm)

    @app.command("resume")
    def resume(
        session: Optional[str] = typer.Argument(None, help="Session id (default: latest unfinished here)."),
        yes: bool = typer.Option(False, "--yes", "-y", help="Apply without asking."),
        as_json: bool = typer.Option(False, "--json", help="JSONL events on stdout."),
        model: Optional[str] = typer.Option(None, "--model", "-m", help="Model name."),
        base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible endpoint."),
    ) -> None:
        """Continue an interrupted or crashed run where it stopped."""
        from codeagent.session import latest_unfinished, load_session

        root_settings = settings_for(Path.cwd()).settings
        root = Path(root_settings.session_dir) if root_settings.session_dir else None
        if session is None:
            info = latest_unfinished(Path.cwd(), root)
            if info is None:
                raise ConfigError("no unfinished session for this repository")
            session = info.id
        record = load_session(session, root)
        state = record.state or {}
        recorded = record.config or {}  # the run's model and endpoint, unless given again now
        settings = settings_for(Path(record.info.repo), model=model or recorded.get("model"),
                                base_url=base_url or recorded.get("base_url")).settings
        console = stderr_console()
        bus = EventBus()
        view = attach_renderer(bus, as_json, console)
        confirm = None if (yes or as_json) else confirm_apply(console, view)
        request = RunRequest(repo=Path(record.info.repo), instruction=state.get("instruction", ""),
                             settings=settings, apply=state.get("apply", "worktree"), branch=state.get("branch"),
                             patch_path=Path(state["patch_path"]) if state.get("patch_path") else None,
                             bus=bus, session_root=root, resume_session=record.id, confirm=confirm)
        result = _run(request, view)
        _report(result, request, console, as_json, confirm)


def read_instruction(text: str) -> str:
    """The instruction as given, or read from stdin for `-`; an empty one is a usage error."""
    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        raise ConfigError("the instruction is empty: say what to do, e.g. codeagent run \"fix the failing test\" "
                          "(or pipe it in: codeagent run - < task.md)")
    return text.strip()


def _report(result, request: RunRequest, console, as_json: bool, confirm) -> None:
    if as_json:
        emit_json({"kind": "result", "ts": time.time(), **{k: v for k, v in result.to_dict().items()
                                                            if k not in ("usage", "kind")},
                   "usage": result.usage.__dict__})
    else:
        print_result(result, console, show_diff=not (confirm and confirm.shown), apply=request.apply,
                     branch=request.branch)
    raise typer.Exit(result.exit_code)


def _run(request: RunRequest, view):
    if view is None:
        return run_task(request)
    with view:
        return run_task(request)

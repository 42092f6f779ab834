"""`codeagent demo`: the whole loop offline, on a copy of a bundled project, driven
by a scripted model (clearly labelled) that makes a wrong first attempt and repairs it."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Optional

import typer

from codeagent.cli.common import attach_renderer, print_result
from codeagent.cli.output import emit_json, stderr_console
from codeagent.config import load_settings
from codeagent.events import EventBus
from codeagent.runner import RunRequest, run_task


def prepare_project(dest: Path) -> Path:
    """Copy the bundled project to `dest` and make it a git repo with one commit."""
    src = Path(__file__).resolve().parent.parent / "demo" / "project"
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    env = {"GIT_AUTHOR_NAME": "demo", "GIT_AUTHOR_EMAIL": "demo@example.com",
           "GIT_COMMITTER_NAME": "demo", "GIT_COMMITTER_EMAIL": "demo@example.com", "PATH": "/usr/bin:/bin"}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "slugkit"]):
        subprocess.run(["git", *args], cwd=dest, check=True, env=env, capture_output=True)
    return dest


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        sandbox: Optional[str] = typer.Option(None, "--sandbox", help="auto | bwrap | none (default: bwrap if installed)."),
        keep: bool = typer.Option(False, "--keep", help="Keep the demo project folder."),
        as_json: bool = typer.Option(False, "--json", help="JSONL events on stdout."),
    ) -> None:
        """Watch the whole loop offline: a scripted model fixes a bundled project."""
        from codeagent.demo.script import INSTRUCTION, demo_model

        console = stderr_console()
        chosen = sandbox or ("bwrap" if shutil.which("bwrap") else "none")
        console.print("[bold magenta]DEMO[/]: the model is [bold]scripted[/] (no API key, no network); "
                      "everything else is real: git worktree, edits, sandbox, test runs.")
        console.print(f"task: {INSTRUCTION}")
        tmp = Path(tempfile.mkdtemp(prefix="codeagent-demo-"))
        repo = prepare_project(tmp / "slugkit")
        settings = load_settings(repo, {"sandbox": chosen, "repo_map_tokens": 512}).settings
        bus = EventBus()
        view = attach_renderer(bus, as_json, console)
        request = RunRequest(repo=repo, instruction=INSTRUCTION, settings=settings, model=demo_model(),
                             apply="worktree", bus=bus, session_root=tmp / "sessions")
        start = time.monotonic()
        if view is None:
            result = run_task(request)
        else:
            with view:
                result = run_task(request)
        if as_json:
            emit_json({"kind": "result", **{k: v for k, v in result.to_dict().items() if k != "usage"}})
        else:
            print_result(result, console)
            console.print(f"demo finished in {time.monotonic() - start:.1f}s; project at {repo}")
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
        raise typer.Exit(result.exit_code)

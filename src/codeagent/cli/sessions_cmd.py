"""`codeagent sessions list` and `codeagent sessions show ID`: read the session logs."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import typer

from codeagent.cli.output import emit_json, stderr_console, stdout_console
from codeagent.config import load_settings
from codeagent.errors import CodeAgentError
from codeagent.gitutil import find_repo_root
from codeagent.session import SessionRecord, list_sessions, load_session

SESSION_DIR = typer.Option(None, "--session-dir", help="Session root (default: session_dir setting, else the user data dir).")


def _root(session_dir: Path | None) -> tuple[Path | None, Path | None]:
    """(session root or None for the default, the repo containing cwd or None)."""
    repo = find_repo_root(Path.cwd())
    if session_dir:
        return session_dir, repo
    configured = load_settings(repo).settings.session_dir
    return (Path(configured) if configured else None), repo


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else "?"


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def register(app: typer.Typer) -> None:
    sessions_app = typer.Typer(help="List and inspect past runs (session logs).", no_args_is_help=True)
    app.add_typer(sessions_app, name="sessions")

    @sessions_app.command("list")
    def list_cmd(
        show_all: bool = typer.Option(False, "--all", help="Sessions of every repository, not only this one."),
        as_json: bool = typer.Option(False, "--json", help="One JSON object per session on stdout (JSONL)."),
        session_dir: Optional[Path] = SESSION_DIR,
    ) -> None:
        """List sessions, newest first (this repository's, unless --all)."""
        root, repo = _root(session_dir)
        infos = list_sessions(root, None if show_all or repo is None else repo)
        if as_json:
            for info in infos:
                emit_json(info.to_dict())
            return
        if not infos:
            where = "" if show_all or repo is None else " for this repository (--all shows every repository)"
            stderr_console().print(f"no sessions{where}")
            return
        _print_list(infos, show_all)

    _register_clean(sessions_app)

    @sessions_app.command("show")
    def show_cmd(
        session: str = typer.Argument(..., help="Session id, or a unique prefix of it."),
        as_json: bool = typer.Option(False, "--json", help="The whole record (meta, config, events, result, patch, state) as one JSON object."),
        patch: bool = typer.Option(False, "--patch", help="Print only the final patch (pipe it to `git apply`)."),
        events: int = typer.Option(20, "--events", help="How many of the last events to list (0: none)."),
        session_dir: Optional[Path] = SESSION_DIR,
    ) -> None:
        """Show one session: what was asked, how it ended, its last events and its patch."""
        root, _ = _root(session_dir)
        record = load_session(session, root)
        if as_json:
            print(json.dumps(record.to_dict(), default=str))
        elif patch:
            if record.patch is None:
                raise CodeAgentError(f"session {record.info.id} has no final patch")
            typer.echo(record.patch, nl=False)
        else:
            _render(record, events)


def _print_list(infos: list, show_all: bool) -> None:
    """One line per session; the instruction is clipped to the terminal width."""
    rows = []
    for info in infos:
        status = info.status if info.status == info.recorded_status else f"{info.status}*"
        row = [info.id, status, _when(info.created)[5:16], info.reason or ""]
        rows.append(row + ([Path(info.repo).name] if show_all else []))
    names = ["id", "status", "started", "result", *(["repo"] if show_all else [])]
    widths = [max(len(name), *(len(r[i]) for r in rows)) for i, name in enumerate(names)]
    console = stdout_console()
    room = max(20, console.width - sum(widths) - 2 * len(widths))  # the instruction gives way
    for cells, instruction in [(names, "instruction"), *((r, info.instruction) for r, info in zip(rows, infos))]:
        line = "  ".join(cell.ljust(w) for cell, w in zip(cells, widths))
        console.print(f"{line}  {_clip(instruction, room)}", markup=False)
    if any(i.status != i.recorded_status for i in infos):
        stderr_console().print("* its process is gone: the run was killed or crashed (codeagent resume continues it)")


def _register_clean(sessions_app: typer.Typer) -> None:
    @sessions_app.command("clean")
    def clean_cmd(
        discard: bool = typer.Option(False, "--discard-unfinished",
                                     help="Also remove the worktrees of interrupted runs (they can no longer be resumed)."),
        session_dir: Optional[Path] = SESSION_DIR,
    ) -> None:
        """Remove leftover worktrees and refs of this repository's dead runs (resumable ones are kept)."""
        from codeagent.errors import NotAGitRepoError
        from codeagent.session import run_ids_to_keep
        from codeagent.workspace import cleanup_stale

        root, repo = _root(session_dir)
        if repo is None:
            raise NotAGitRepoError(f"{Path.cwd()} is not inside a git repository")
        keep = set() if discard else run_ids_to_keep(repo, root)
        removed = cleanup_stale(repo, keep=keep)
        stderr_console().print(f"removed {len(removed)} run(s)" + (f": {', '.join(removed)}" if removed else ""))


def _render(record: SessionRecord, last: int) -> None:
    out = stdout_console()
    info, meta, result = record.info, record.meta, record.result or {}
    status = info.status if info.status == info.recorded_status else f"{info.status} (recorded {info.recorded_status}, process gone)"
    out.print(f"[bold]session[/] {info.id}  [bold]{status}[/]")

    def say(text: str) -> None:  # user and model text: never read as markup
        out.print(text, markup=False, highlight=False)

    say(f"  repo:        {info.repo}")
    say(f"  instruction: {_clip(info.instruction, 300)}")
    say(f"  started:     {_when(info.created)}   updated: {_when(info.updated)}   resumes: {meta.get('resumes', 0)}")
    say(f"  folder:      {info.dir}")
    if result:
        usage = result.get("usage") or {}
        tokens = int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))
        say(f"  result:      {result.get('status')} ({result.get('reason')}), exit {result.get('exit_code')}, "
            f"{result.get('steps', 0)} model calls, {tokens:,} tokens, ${float(usage.get('cost', 0)):.4f}")
        if result.get("summary"):
            say(f"  summary:     {_clip(result['summary'], 200)}")
        say(f"  applied:     {'yes' if result.get('applied') else 'no'}"
            + (f"   patch: {result['patch_path']}" if result.get("patch_path") else ""))
    if record.patch is not None:
        files = [line.split(" b/", 1)[-1] for line in record.patch.splitlines() if line.startswith("diff --git ")]
        say(f"  patch:       {len(files)} files: {_clip(', '.join(files), 150)}  (--patch prints it)")
    kinds = Counter(e.get("kind", "?") for e in record.events)
    say(f"  events:      {len(record.events)} ({', '.join(f'{k} {n}' for k, n in kinds.most_common())})"
        + (f"; {record.bad_lines} unreadable lines" if record.bad_lines else ""))
    for event in record.events[-last:] if last > 0 else []:
        say(f"    {time.strftime('%H:%M:%S', time.localtime(event.get('ts', 0)))} "
            f"{event.get('kind', '?'):<12} {_event_line(event)}")


def _event_line(event: dict[str, Any]) -> str:
    fields = {k: v for k, v in event.items() if k not in ("kind", "ts")}
    parts = [f"{k}={_clip(v if isinstance(v, str) else json.dumps(v, default=str), 60)}" for k, v in fields.items()]
    return _clip(" ".join(parts), 140)

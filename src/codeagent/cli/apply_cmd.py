"""`codeagent apply`: apply the edits in a model's reply (SEARCH/REPLACE blocks, a
unified diff or a *** Begin Patch envelope) to the current tree, all or nothing.

Exit codes: 0 every edit applied (or would, with --dry-run); 1 an edit was refused or
no edit was found, nothing written; 2 usage (bad flag, unreadable input)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from codeagent.cli.output import emit_json, stderr_console, stdout_console
from codeagent.edits import FORMAT_NAMES, EditEngine
from codeagent.errors import ConfigError
from codeagent.gitutil import find_repo_root


def register(app: typer.Typer) -> None:
    @app.command("apply")
    def apply(
        source: str = typer.Argument("-", help="File holding the edits; '-' (the default) reads stdin."),
        fmt: str = typer.Option("auto", "--format", "-f", help=f"Edit format: {' | '.join(FORMAT_NAMES)}."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Check every edit; write nothing."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON report on stdout."),
        root: Path = typer.Option(None, "--root", help="Workspace root; default: the git repo around the cwd, else the cwd."),
        no_validate: bool = typer.Option(False, "--no-validate", help="Skip the tree-sitter syntax check."),
    ) -> None:
        """Apply edits from a model's answer to the current tree; nothing is written unless all apply."""
        if fmt not in FORMAT_NAMES:
            raise ConfigError(f"unknown --format {fmt!r}", hint=f"choose one of: {', '.join(FORMAT_NAMES)}")
        text = _read(source)
        workspace = root or find_repo_root(Path.cwd()) or Path.cwd()
        if not workspace.is_dir():
            raise ConfigError(f"--root {workspace}: not a directory")
        engine = EditEngine(workspace, validate_syntax=not no_validate)
        report = engine.apply_text(text, fmt=fmt, dry_run=dry_run)
        if as_json:
            emit_json(report.to_dict())
        else:
            _render(report)
        raise typer.Exit(0 if report.ok else 1)


def _read(source: str) -> str:
    if source == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {source}: {exc.strerror or exc}") from None
    return data.decode("utf-8", errors="replace")


def _render(report) -> None:
    err = stderr_console()
    for result in report.results:
        mark = "[green]✓[/]" if result.ok else "[red]✗[/]"
        err.print(f"{mark} ", end="")
        err.print(result.message, markup=False, highlight=False)
    summary = report.describe().splitlines()[-1]
    err.print(("[green]" if report.ok else "[red]") + summary + "[/]")
    if report.dry_run and report.ok:
        out = stdout_console()
        for result in report.results:
            if result.diff:
                out.print(result.diff, markup=False, highlight=False, end="")

"""`codeagent map` and `codeagent context`: what the model would see of this repo.

    codeagent map [--query TEXT] [--tokens N]             the repo map, on stdout
    codeagent context "INSTRUCTION" [--top-k K] [--json]  ranked files with scores and reasons

Heavy modules (the engine, settings, rich tables) load inside the commands, so
registering these commands costs the CLI nothing at start-up.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from codeagent.cli.output import emit_json, stderr_console, stdout_console, warn
from codeagent.errors import ConfigError


def _engine(root_opt: Path | None):
    from codeagent.context import ContextEngine
    from codeagent.gitutil import find_repo_root

    root = root_opt or find_repo_root(Path.cwd()) or Path.cwd()
    engine = ContextEngine(root)
    if engine.cache_note:
        warn(engine.cache_note)
    return engine


def _report(engine, quiet: bool) -> None:
    stats = engine.last_refresh
    if stats is not None and stats.parsed and not quiet:
        stderr_console().print(
            f"indexed {stats.indexed} files of {engine.root} (parsed {stats.parsed}) in {stats.seconds:.2f} s"
        )


ROOT_HELP = "Repository root (default: the git repo containing the current directory)."


def register(app: typer.Typer) -> None:
    @app.command("map")
    def map_cmd(
        query: str = typer.Option("", "--query", "-q", help="Instruction or words to focus the map on."),
        tokens: int | None = typer.Option(None, "--tokens", "-t", help="Token budget (default: repo_map_tokens setting)."),
        root: Path | None = typer.Option(None, "--root", help=ROOT_HELP, exists=True, file_okay=False),
    ) -> None:
        """Print the repo map: signatures of the most relevant definitions, grouped by file."""
        if tokens is not None and tokens < 0:
            raise ConfigError(f"--tokens must be 0 or more, got {tokens}")
        from codeagent.config import load_settings

        with _engine(root) as engine:
            budget = tokens if tokens is not None else load_settings(engine.root).settings.repo_map_tokens
            text = engine.repo_map(query, tokens=budget)
            _report(engine, quiet=False)
        typer.echo(text, nl=False)

    @app.command("context")
    def context_cmd(
        instruction: str = typer.Argument(..., help="The instruction to rank files for."),
        top_k: int = typer.Option(20, "--top-k", "-k", help="How many files to list."),
        as_json: bool = typer.Option(False, "--json", help="JSONL on stdout: one ranked_file object per line."),
        root: Path | None = typer.Option(None, "--root", help=ROOT_HELP, exists=True, file_okay=False),
    ) -> None:
        """Rank the repository's files by relevance to INSTRUCTION."""
        if top_k < 1:
            raise ConfigError(f"--top-k must be at least 1, got {top_k}")
        with _engine(root) as engine:
            files = engine.rank(instruction, top_k=top_k)
            _report(engine, quiet=as_json)
        if as_json:
            for item in files:
                emit_json(asdict(item))
            return
        if not files:
            stderr_console().print("no file matches")
            return
        from rich.table import Table

        table = Table("#", "score", "path", "why")
        # sources first; tests that made the list follow, marked (they are rarely what a fix changes)
        for n, item in sorted(enumerate(files, 1), key=lambda pair: pair[1].role == "test"):
            path = item.path if item.role == "source" else f"{item.path} (test)"
            table.add_row(str(n), f"{item.score:.3f}", path, "; ".join(item.reasons))
        stdout_console().print(table)

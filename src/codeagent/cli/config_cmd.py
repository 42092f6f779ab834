"""`codeagent config show`: the effective settings and where each came from."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from codeagent.cli.output import stdout_console
from codeagent.config import load_settings
from codeagent.gitutil import find_repo_root


def register(app: typer.Typer) -> None:
    config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
    app.add_typer(config_app, name="config")

    @config_app.command("show")
    def show(as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout.")) -> None:
        """Print every setting's effective value and its source, secrets redacted."""
        repo = find_repo_root(Path.cwd())
        loaded = load_settings(repo)
        values = loaded.redacted()
        if as_json:
            print(json.dumps({k: {"value": v, "source": loaded.sources.get(k, "default")} for k, v in values.items()}))
            return
        table = Table("key", "value", "source")
        for key, value in values.items():
            table.add_row(key, json.dumps(value, default=str), loaded.sources.get(key, "default"))
        stdout_console().print(table)

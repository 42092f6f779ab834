"""`codeagent exec [--sandbox NAME] [--profile P] [--allow-network] -- CMD ...`: run one
command in the sandbox over the current repository, the way the agent's commands run,
so users can see what those commands can and cannot do.

One argument is a shell command (`codeagent exec -- 'ls | wc -l'`); several are an
argv (`codeagent exec -- ls -la`). The command's output goes to stdout, what the
sandbox did about it (limits hit, warning) to stderr; the exit code is the command's
own, 124 when it timed out, 4 when no sandbox is available.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import typer

from codeagent.cli.output import emit_json, stderr_console, warn
from codeagent.config import load_settings
from codeagent.errors import ConfigError
from codeagent.gitutil import find_repo_root

EXIT_TIMED_OUT = 124


def register(app: typer.Typer) -> None:
    @app.command("exec", context_settings={"ignore_unknown_options": True})
    def exec_(
        command: list[str] = typer.Argument(..., help="The command, after --. One argument runs under sh -c."),
        sandbox: str | None = typer.Option(None, "--sandbox", help="auto | bwrap | none (default: config)."),
        profile: str | None = typer.Option(None, "--profile", help="Sandbox profile name or .toml path."),
        allow_network: bool = typer.Option(False, "--allow-network", help="Use the network profile."),
        timeout: float | None = typer.Option(None, "--timeout", help="Seconds before the command is killed."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object on stdout."),
    ) -> None:
        """Run one command in the sandbox over the current repository."""
        from codeagent.sandbox import open_sandbox

        if not command:
            raise ConfigError("no command given", hint="codeagent exec -- CMD ...")
        cwd = Path.cwd().resolve()
        root = find_repo_root(cwd) or cwd
        flags = {"sandbox": sandbox, "allow_network": True if allow_network else None, "command_timeout": timeout}
        settings = load_settings(root, flags).settings
        with tempfile.TemporaryDirectory(prefix="codeagent-exec-") as scratch:
            box = open_sandbox(settings.sandbox, root, allow_network=settings.allow_network,
                               timeout=settings.command_timeout, scratch=Path(scratch),
                               profile=profile or settings.sandbox_profile)
            if box.warning:
                warn(box.warning)
            result = box.run(command[0] if len(command) == 1 else command, cwd=cwd)
        if as_json:
            emit_json(result.to_dict() | {"sandbox": box.name})
        else:
            sys.stdout.write(result.output)
            sys.stdout.flush()
            _report_limits(result)
        if result.timed_out:
            raise typer.Exit(EXIT_TIMED_OUT)
        code = result.exit_code if result.exit_code is not None else 1
        raise typer.Exit(code if code >= 0 else 128 - code)


def _report_limits(result) -> None:
    console = stderr_console()
    if result.timed_out:
        console.print(f"codeagent: timed out after {result.duration:.1f}s; the whole process tree was killed")
    for limit in result.limits_hit:
        if limit not in ("timeout", "output"):
            console.print(f"codeagent: limit hit: {limit}")
    if result.dropped_bytes:
        console.print(f"codeagent: output capped, {result.dropped_bytes} bytes dropped from the middle")

"""`codeagent test`: detect the project's test command, run it in the sandbox, print
the report (a digest for people, one JSON object with `--json`). Exit 0 when the
tests pass, 1 when any fails, 2 when no test command can be found."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Optional

import typer

from codeagent.cli.output import emit_json, stdout_console, warn
from codeagent.config import load_settings
from codeagent.errors import EXIT_NOT_DONE, EXIT_OK, ConfigError
from codeagent.gitutil import find_repo_root
from codeagent.sandbox import open_sandbox
from codeagent.testing import TestRunner, detect_test_command, digest


def register(app: typer.Typer) -> None:
    @app.command("test")
    def test(
        selection: Optional[list[str]] = typer.Argument(None, help="Only these tests (ids or files), where the runner can select."),
        test_cmd: Optional[str] = typer.Option(None, "--test-cmd", help="Command that runs the tests (skips detection)."),
        sandbox: Optional[str] = typer.Option(None, "--sandbox", help="auto | bwrap | none."),
        timeout: Optional[float] = typer.Option(None, "--timeout", help="Seconds the run may take."),
        no_rerun: bool = typer.Option(False, "--no-rerun", help="Do not re-run failures to detect flaky tests."),
        max_chars: int = typer.Option(4000, "--max-chars", help="Size bound of the failure digest."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
    ) -> None:
        """Run the project's tests in the sandbox and report what failed."""
        repo = find_repo_root(Path.cwd()) or Path.cwd()
        settings = load_settings(repo, {"test_cmd": test_cmd, "sandbox": sandbox, "test_timeout": timeout}).settings
        command = detect_test_command(repo, settings.test_cmd)
        if command is None:
            raise ConfigError("no test command found for this project",
                              hint="pass --test-cmd CMD or set test_cmd in .codeagent.toml")
        with tempfile.TemporaryDirectory(prefix="codeagent-test-") as scratch:
            box = open_sandbox(settings.sandbox, repo, allow_network=settings.allow_network,
                               timeout=settings.test_timeout, scratch=Path(scratch),
                               profile=settings.sandbox_profile)
            if box.warning and not as_json:
                warn(box.warning)
            runner = TestRunner(box, command, timeout=settings.test_timeout)
            report = runner.run(selection or None, rerun_failures=not no_rerun)
        text = digest(report, max_chars=max_chars, root=str(repo))
        if as_json:
            emit_json({"kind": "test_run", "command": command.to_dict(), "ok": report.ok,
                       "summary": report.summary(), "report": report.to_dict(), "digest": text})
        else:
            console = stdout_console()
            console.print(f"test command: {command.cmd}  ({command.runner}: {command.reason})", markup=False)
            console.print(text, markup=False)
        # sys.exit, not typer.Exit: click returns Exit codes silently with standalone_mode=False
        sys.exit(EXIT_OK if report.ok else EXIT_NOT_DONE)

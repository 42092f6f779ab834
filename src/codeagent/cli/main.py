"""The `codeagent` command: builds the typer app from one module per command group
and maps faults to documented exit codes at the edge."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from codeagent.errors import EXIT_INTERRUPTED, CodeAgentError, ConfigError

# One line per command: its name and the module that defines it (`register(app)`).
COMMANDS = {
    "config": "codeagent.cli.config_cmd",
    "trust": "codeagent.cli.trust_cmd",
    "map": "codeagent.cli.context_cmd", "context": "codeagent.cli.context_cmd",
    "apply": "codeagent.cli.apply_cmd",
    "test": "codeagent.cli.test_cmd",
    "hook": "codeagent.cli.hook_cmd", "precommit": "codeagent.cli.hook_cmd",
    "run": "codeagent.cli.run_cmd", "resume": "codeagent.cli.run_cmd",
    "demo": "codeagent.cli.demo_cmd",
    "batch": "codeagent.cli.batch_cmd", "eval": "codeagent.cli.batch_cmd",
    "exec": "codeagent.cli.exec_cmd",
    "doctor": "codeagent.cli.doctor",
    "sessions": "codeagent.cli.sessions_cmd",
}
COMMAND_MODULES = list(dict.fromkeys(COMMANDS.values()))

app = typer.Typer(
    name="codeagent",
    help="An autonomous coding agent: plans, edits, runs your tests in a sandbox, repairs until they pass.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"codeagent {version('codeagent')}")
        raise typer.Exit(0)


@app.callback()
def _root(
    cd: Optional[Path] = typer.Option(None, "--cd", "-C", help="Run as if started in DIR.", metavar="DIR"),
    show_version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                      help="Print the version and exit."),
) -> None:
    """An autonomous coding agent: plans, edits, runs your tests in a sandbox, repairs until they pass."""
    if cd is not None:
        if not cd.is_dir():
            raise ConfigError(f"--cd {cd}: not a directory")
        os.chdir(cd)


def build_app(command: str | None = None) -> typer.Typer:
    """The app with every command, or only `command`'s module (a command's start-up
    then imports nothing the other commands need)."""
    for name in [COMMANDS[command]] if command in COMMANDS else COMMAND_MODULES:
        importlib.import_module(name).register(app)
    return app


def command_name(argv: list[str]) -> str | None:
    """The command word of a command line (after the root options)."""
    args = iter(argv)
    for arg in args:
        if arg in ("-C", "--cd"):
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def main() -> None:
    if sys.argv[1:2] == ["precommit"]:  # the commit hook's fast path, before the CLI is built
        from codeagent.hooks.__main__ import exit_if_nothing_to_check
        exit_if_nothing_to_check(sys.argv[2:])
    build_app(command_name(sys.argv[1:]))
    try:
        rc = app(standalone_mode=False)  # typer.Exit(n) comes back as n here, not raised
        sys.exit(rc if isinstance(rc, int) else 0)
    except CodeAgentError as exc:
        from codeagent.cli.output import error

        error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        from codeagent.cli.interrupt import interrupted

        interrupted()
    except (typer.Abort,):
        sys.exit(EXIT_INTERRUPTED)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit:
        raise
    except Exception as exc:  # usage errors arrive as a ClickException (typer vendors click)
        if isinstance(exc, _click_exceptions()):
            exc.show()
            sys.exit(0 if type(exc).__name__ == "NoArgsIsHelpError" else 2)
        raise


def _click_exceptions() -> tuple[type, ...]:
    found: list[type] = []
    try:
        from typer._click.exceptions import ClickException as TyperClickException

        found.append(TyperClickException)
    except ImportError:
        pass
    try:
        from click.exceptions import ClickException

        found.append(ClickException)
    except ImportError:
        pass
    return tuple(found)


if __name__ == "__main__":
    main()

"""The `codeagent` command: builds the typer app from one module per command group
and maps faults to documented exit codes at the edge."""

from __future__ import annotations

import importlib
import sys

import typer

from codeagent.errors import EXIT_INTERRUPTED, CodeAgentError

# One line per command module; each defines `register(app: typer.Typer)`.
COMMAND_MODULES = [
    "codeagent.cli.config_cmd",
    "codeagent.cli.trust_cmd",
    "codeagent.cli.context_cmd",
    "codeagent.cli.apply_cmd",
    "codeagent.cli.test_cmd",
    "codeagent.cli.hook_cmd",
    "codeagent.cli.run_cmd",
    "codeagent.cli.demo_cmd",
    "codeagent.cli.batch_cmd",
    "codeagent.cli.exec_cmd",
    "codeagent.cli.doctor",
    "codeagent.cli.sessions_cmd",
]

app = typer.Typer(
    name="codeagent",
    help="An autonomous coding agent: plans, edits, runs your tests in a sandbox, repairs until they pass.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def build_app() -> typer.Typer:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)
    return app


def main() -> None:
    if sys.argv[1:2] == ["precommit"]:  # the commit hook's fast path, before the CLI is built
        from codeagent.hooks.__main__ import exit_if_nothing_to_check
        exit_if_nothing_to_check(sys.argv[2:])
    build_app()
    try:
        rc = app(standalone_mode=False)  # typer.Exit(n) comes back as n here, not raised
        sys.exit(rc if isinstance(rc, int) else 0)
    except CodeAgentError as exc:
        from codeagent.cli.output import error

        error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        from codeagent.cli.entry import interrupted

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

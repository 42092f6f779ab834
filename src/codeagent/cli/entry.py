"""The console script. Ctrl-C at any moment, even while the CLI is still being imported,
ends the way `cli.interrupt` says (exit 130; a `final` line with `--json`)."""

from __future__ import annotations

from codeagent.cli.interrupt import interrupted


def main() -> None:
    try:
        from codeagent.cli.main import main as run
    except KeyboardInterrupt:
        interrupted()
    run()

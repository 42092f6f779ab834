"""`python -m codeagent.hooks [--mode M] [--budget S]`: what the installed git hook runs.

The fast path: when nothing is staged it exits 0 after one git call, before
importing anything heavy; when only files no check covers are staged (docs, images:
`[tool.codeagent.precommit] skip_paths`) it exits 0 after reading the settings.
Otherwise it hands over to `codeagent precommit`. `codeagent precommit` itself
calls `exit_if_nothing_to_check` first, before the CLI is built.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from codeagent.hooks.fastpath import relevant_paths, staged_paths


def option(argv: list[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def exit_if_nothing_to_check(argv: list[str]) -> None:
    """Exit 0 now when the staged change needs no check; return to go the full way.
    Anything unusual (not a repo, a bad config, --json, --help) goes the full way,
    where it gets a proper answer."""
    if any(a in ("--json", "--help") for a in argv):
        return
    paths = staged_paths(Path.cwd())
    if paths is None:
        return
    if not paths:
        sys.exit(0)
    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    from codeagent.config import load_settings
    from codeagent.errors import CodeAgentError

    try:
        settings = load_settings(Path(top.stdout.strip())).settings
    except CodeAgentError:
        return
    mode = option(argv, "--mode") or settings.precommit.mode
    if mode in ("check", "fix") and not relevant_paths(paths, settings.precommit.skip_paths):
        sys.exit(0)


def main(argv: list[str]) -> None:
    exit_if_nothing_to_check(argv)
    sys.argv = ["codeagent", "precommit", *argv]
    from codeagent.cli.main import main as cli_main

    cli_main()


if __name__ == "__main__":
    main(sys.argv[1:])

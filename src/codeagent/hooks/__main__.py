"""`python -m codeagent.hooks [--mode M] [--budget S]`: what the installed git hook runs.

When nothing is staged it exits 0 after one git call, before importing typer,
pydantic or the rest of codeagent; otherwise it hands over to `codeagent precommit`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from codeagent.hooks.fastpath import staged_paths


def main(argv: list[str]) -> None:
    if staged_paths(Path.cwd()) == []:
        sys.exit(0)
    sys.argv = ["codeagent", "precommit", *argv]
    from codeagent.cli.main import main as cli_main

    cli_main()


if __name__ == "__main__":
    main(sys.argv[1:])

"""The console script. Ctrl-C at any moment, even while the CLI is still being imported,
ends with exit code 130 and one line: `interrupted` on stderr, and with `--json` a
`final` object on stdout, so a script driving codeagent always gets JSON back."""

from __future__ import annotations

import json
import sys
import time

EXIT_INTERRUPTED = 130


def main() -> None:
    try:
        from codeagent.cli.main import main as run
    except KeyboardInterrupt:
        interrupted()
    run()


def interrupted() -> None:
    if "--json" in sys.argv[1:]:
        sys.stdout.write(json.dumps({"kind": "final", "ts": time.time(), "status": "interrupted",
                                     "reason": "interrupted", "exit_code": EXIT_INTERRUPTED}) + "\n")
        sys.stdout.flush()
    sys.stderr.write("interrupted\n")
    sys.exit(EXIT_INTERRUPTED)

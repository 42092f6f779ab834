"""How a Ctrl-C ends the CLI, wherever it lands: exit code 130 and one line,
`interrupted` on stderr, and with `--json` a `final` object on stdout, so a script
driving codeagent always gets JSON back. It imports next to nothing: the console script
uses it before anything else is imported."""

from __future__ import annotations

import json
import sys
import time

from codeagent.errors import EXIT_INTERRUPTED


def interrupted() -> None:
    if "--json" in sys.argv[1:]:
        sys.stdout.write(json.dumps({"kind": "final", "ts": time.time(), "status": "interrupted",
                                     "reason": "interrupted", "exit_code": EXIT_INTERRUPTED}) + "\n")
        sys.stdout.flush()
    sys.stderr.write("interrupted\n")
    sys.exit(EXIT_INTERRUPTED)

"""`--json`: one JSON object per event on stdout (schema in the README)."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from codeagent.events import Event


class JsonlRenderer:
    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def __call__(self, event: Event) -> None:
        self.stream.write(json.dumps(event.to_dict(), default=str) + "\n")
        self.stream.flush()

"""`--json`: one JSON object per event on stdout (schema in the README), redacted like
the session log (`redact.Redactor`)."""

from __future__ import annotations

import sys
from typing import TextIO

from codeagent.events import Event
from codeagent.redact import Redactor


class JsonlRenderer:
    def __init__(self, stream: TextIO | None = None, redactor: Redactor | None = None):
        self.stream = stream or sys.stdout
        self.redactor = redactor or Redactor()

    def __call__(self, event: Event) -> None:
        self.stream.write(self.redactor.dumps(event.to_dict()) + "\n")
        self.stream.flush()

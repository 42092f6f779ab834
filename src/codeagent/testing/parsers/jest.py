"""Jest and Vitest JSON reports (`--json` / `--reporter=json`, same shape) into test
cases. Ids are `<file relative to root>::<describe > ... > title>`; a file that
failed with no assertions (a syntax or import error) is a collection error."""

from __future__ import annotations

import json
import os
from pathlib import Path

from codeagent.testing.parsers import Parsed, clip, first_line
from codeagent.testing.report import TestCase

STATUS = {"passed": "passed", "failed": "failed", "pending": "skipped", "skipped": "skipped",
          "todo": "skipped", "disabled": "skipped"}


def parse_jest_json(path: Path, root: Path) -> Parsed | None:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    parsed = Parsed(structured=True)
    for suite in data.get("testResults", []):
        file = _relative(suite.get("name", ""), root)
        cases = suite.get("assertionResults") or []
        for case in cases:
            parsed.tests.append(_case(file, case))
        if suite.get("status") == "failed" and not any(c.get("status") == "failed" for c in cases):
            message = suite.get("message") or "test file failed to run"
            parsed.collection_errors.append(f"{file}: {clip(message, 3000)}")
    return parsed


def _relative(name: str, root: Path) -> str:
    try:
        return os.path.relpath(name, root) if os.path.isabs(name) else name
    except ValueError:
        return name


def _case(file: str, case: dict) -> TestCase:
    title = " > ".join([*case.get("ancestorTitles", []), case.get("title", "")])
    outcome = STATUS.get(case.get("status", ""), "failed")
    failures = "\n".join(str(m) for m in case.get("failureMessages") or [])
    loc = case.get("location") or {}
    location = f"{file}:{loc['line']}" if isinstance(loc, dict) and loc.get("line") else file
    return TestCase(
        id=f"{file}::{title}",
        outcome=outcome,
        duration=float(case.get("duration") or 0) / 1000,
        message=first_line(failures) if outcome == "failed" else "",
        location=location,
        output=clip(failures) if outcome == "failed" else "",
    )

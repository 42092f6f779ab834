"""The JSON our unittest shim writes (see `codeagent.testing.unittest_shim`) into
test cases. Modules that failed to import become collection errors."""

from __future__ import annotations

import json
from pathlib import Path

from codeagent.testing.parsers import Parsed, clip
from codeagent.testing.report import TestCase


def parse_unittest_json(path: Path) -> Parsed | None:
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rows, list):
        return None
    parsed = Parsed(structured=True)
    for row in rows:
        outcome = row.get("outcome", "error")
        detail = clip(str(row.get("output", "")))
        if outcome == "collection_error":
            parsed.collection_errors.append(f"{row.get('id')}: {detail.strip()}")
            outcome = "error"
        parsed.tests.append(TestCase(
            id=str(row.get("id")),
            outcome=outcome,
            duration=float(row.get("duration") or 0),
            message=str(row.get("message", "")),
            output=detail if outcome in ("failed", "error") else "",
        ))
    return parsed

"""`cargo test` human output into test cases (stable Rust has no JSON test output).
Compiler errors before any test ran become collection errors."""

from __future__ import annotations

import re

from codeagent.testing.parsers import Parsed, clip, first_line
from codeagent.testing.report import TestCase

RESULT = re.compile(r"^test (.+?) \.\.\. (ok|FAILED|ignored|bench)(?:, .*)?$")
SECTION = re.compile(r"^---- (.+?) stdout ----$")
PANIC = re.compile(r"panicked at ([^\s:]+:\d+:\d+):?\s*(.*)$")
COMPILE_ERROR = re.compile(r"^error(\[E\d+\])?: ")
OUTCOMES = {"ok": "passed", "FAILED": "failed", "ignored": "skipped", "bench": "passed"}


def parse_cargo(text: str) -> Parsed:
    parsed = Parsed(structured=True)
    details = _failure_sections(text)
    for line in text.splitlines():
        match = RESULT.match(line.strip())
        if not match:
            continue
        name, result = match.groups()
        outcome = OUTCOMES[result]
        detail = details.get(name, "")
        parsed.tests.append(_case(name, outcome, detail))
    parsed.collection_errors.extend(_compile_errors(text))
    return parsed


def _failure_sections(text: str) -> dict[str, str]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        match = SECTION.match(line.strip())
        if match:
            current = sections.setdefault(match.group(1), [])
        elif current is not None and (line.startswith("failures:") or line.startswith("test result:")):
            current = None
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines).strip() for name, lines in sections.items()}


def _case(name: str, outcome: str, detail: str) -> TestCase:
    message, location = "", ""
    lines = detail.splitlines()
    for i, line in enumerate(lines):
        panic = PANIC.search(line)
        if panic:
            location = panic.group(1)
            rest = panic.group(2) or (lines[i + 1] if i + 1 < len(lines) else "")
            message = rest.strip().strip("'")
            break
    if outcome == "failed" and not message:
        message = first_line(detail)
    return TestCase(name, outcome, 0.0, message, location, clip(detail) if outcome == "failed" else "")


def _compile_errors(text: str) -> list[str]:
    """Compiler diagnostics (they point at source with `-->`), not cargo's own summary lines."""
    errors, block = [], None
    for line in text.splitlines():
        if COMPILE_ERROR.match(line):
            block = [line]
            errors.append(block)
        elif block is not None and line.strip():
            block.append(line)
        else:
            block = None
    real = [b for b in errors if b[0].startswith("error[") or any(" --> " in ln for ln in b)]
    return [clip("\n".join(b), 2000) for b in real[:20]]

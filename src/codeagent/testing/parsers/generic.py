"""The fallback when a runner leaves no machine-readable report: recognise the
failure lines common runners print (pytest, unittest, go, cargo, node TAP), and
otherwise judge the run by its exit code alone (one pseudo-test for the command)."""

from __future__ import annotations

import re

from codeagent.testing.parsers import Parsed, clip
from codeagent.testing.parsers.cargo import parse_cargo
from codeagent.testing.report import TestCase

PATTERNS = [
    (re.compile(r"^(FAILED|ERROR) (\S+?)(?: - (.*))?$"), "pytest"),  # pytest short summary
    (re.compile(r"^(FAIL|ERROR): (\w+) \(([\w.]+?)\)"), "unittest"),
    (re.compile(r"^\s*--- (FAIL|PASS|SKIP): (\S+)"), "go"),
    (re.compile(r"^not ok \d+ - (.+?)(?: # .*)?$"), "tap"),
]


def sniff(output: str, exit_code: int | None, command: str) -> Parsed:
    """Failing tests named in `output`; a single command-level case when none are."""
    parsed = Parsed(structured=False)
    seen: dict[str, TestCase] = {}
    if re.search(r"^test .+ \.\.\. (ok|FAILED|ignored)$", output, re.M):
        for case in parse_cargo(output).tests:
            seen[case.id] = case
    for line in output.splitlines():
        for pattern, style in PATTERNS:
            match = pattern.match(line.rstrip())
            if match:
                case = _case(style, match)
                if case and case.id not in seen:
                    seen[case.id] = case
    parsed.tests = list(seen.values())
    if exit_code not in (0, None) and not any(t.failing for t in parsed.tests):
        tail = "\n".join(output.rstrip().splitlines()[-40:])
        parsed.tests.append(TestCase(f"[{command}]", "failed", 0.0, f"exit code {exit_code}", "", clip(tail)))
    return parsed


def _case(style: str, match: re.Match) -> TestCase | None:
    if style == "pytest":
        kind, test_id, message = match.groups()
        return TestCase(test_id, "failed" if kind == "FAILED" else "error", message=message or "")
    if style == "unittest":
        kind, name, where = match.groups()
        test_id = where if where.endswith("." + name) else f"{where}.{name}"
        return TestCase(test_id, "failed" if kind == "FAIL" else "error")
    if style == "go":
        kind, name = match.groups()
        return TestCase(name, {"FAIL": "failed", "PASS": "passed", "SKIP": "skipped"}[kind])
    if style == "tap":
        return TestCase(match.group(1).strip(), "failed")
    return None

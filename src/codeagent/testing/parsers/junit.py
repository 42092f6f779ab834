"""JUnit XML (pytest with xunit1 family, node's junit reporter, any other producer)
into test cases. pytest's collection failures become collection errors."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from codeagent.testing.parsers import Parsed, clip, first_line
from codeagent.testing.report import TestCase

CAPTURE_HEADER = re.compile(r"^-+ Captured (\w+) -+\s*$", re.M)


def parse_junit(path: Path, *, style: str = "pytest") -> Parsed | None:
    """Parse the JUnit XML file at `path`; None when it is missing or unreadable."""
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError):
        return None
    parsed = Parsed(structured=True)
    for case, suites in _walk(tree.getroot(), []):
        test = _case(case, suites, style)
        if test is None:
            continue
        if style == "pytest" and test.message == "collection failure":
            test.message = _e_line(test.output) or test.message
            parsed.collection_errors.append(f"{test.id}: {test.output.strip()}")
        parsed.tests.append(test)
    return parsed


def _walk(element: ET.Element, suites: list[str]):
    for child in element:
        if child.tag == "testcase":
            yield child, suites
        elif child.tag in ("testsuite", "testsuites"):
            name = child.get("name", "")
            inner = suites + [name] if child.tag == "testsuite" and name not in ("", "pytest") else suites
            yield from _walk(child, inner)


def pytest_id(case: ET.Element) -> str:
    """The pytest node id of a testcase written with junit_family=xunit1."""
    name, classname, file = case.get("name", ""), case.get("classname", ""), case.get("file")
    if not file:
        return f"{classname}::{name}" if classname else name
    if not classname:  # a collection error names the module
        return file
    module = file[:-3].replace("/", ".") if file.endswith(".py") else file
    inner = classname[len(module) + 1:] if classname.startswith(module + ".") else ""
    parts = [file, *(inner.split(".") if inner else []), name]
    return "::".join(p for p in parts if p)


def _case(case: ET.Element, suites: list[str], style: str) -> TestCase | None:
    name = case.get("name")
    if name is None:
        return None
    if style == "pytest":
        test_id = pytest_id(case)
        location = f"{case.get('file')}:{int(case.get('line', '0')) + 1}" if case.get("line") else ""
    else:
        test_id = " > ".join([*suites, name])
        location = case.get("file", "")
    outcome, message, detail = "passed", "", ""
    for child in case:
        if child.tag in ("failure", "error"):
            detail = (child.text or "").strip()
            message = child.get("message") or first_line(detail)
            if outcome != "failed":  # a failure outranks a teardown error on the same test
                outcome = "failed" if child.tag == "failure" else "error"
        elif child.tag == "skipped" and outcome == "passed":
            outcome, message = "skipped", child.get("message", "")
    if case.get("failure") and outcome == "passed":  # node writes a failure attribute too
        outcome, message = "failed", case.get("failure", "")
    if outcome in ("failed", "error"):
        captured = _captured(case)
        detail = detail + ("\n" + captured if captured else "")
    return TestCase(
        id=test_id,
        outcome=outcome,
        duration=_float(case.get("time")),
        message=message.strip(),
        location=location,
        output=clip(detail) if outcome in ("failed", "error") else "",
    )


def _captured(case: ET.Element) -> str:
    """Captured stdout/stderr/log sections that are not empty."""
    parts = []
    for tag in ("system-out", "system-err"):
        for child in case.findall(tag):
            pieces = CAPTURE_HEADER.split(child.text or "")
            if pieces[0].strip():
                parts.append(pieces[0].strip())
            for name, body in zip(pieces[1::2], pieces[2::2]):
                if body.strip():
                    parts.append(f"[captured {name.lower()}]\n{body.strip()}")
    return "\n".join(parts)


def _e_line(text: str) -> str:
    """The last `E   ...` line pytest writes under a traceback."""
    lines = [ln[1:].strip() for ln in text.splitlines() if ln.startswith("E ")]
    return lines[-1] if lines else ""


def _float(value: str | None) -> float:
    try:
        return float(value or 0)
    except ValueError:
        return 0.0

"""`go test -json` event streams into test cases. Ids are `<package>::<Test>`;
a package that fails with no test events (a build error) is a collection error."""

from __future__ import annotations

import json

from codeagent.testing.parsers import Parsed, clip, first_line
from codeagent.testing.report import TestCase

ACTIONS = {"pass": "passed", "fail": "failed", "skip": "skipped"}


def parse_go_json(text: str) -> Parsed | None:
    """Parse `go test -json` output; None when it holds no JSON events at all."""
    outputs: dict[tuple[str, str], list[str]] = {}
    results: dict[tuple[str, str], tuple[str, float]] = {}
    failed_packages: dict[str, float] = {}
    build_output: list[str] = []
    seen = False
    for line in text.splitlines():
        event = _event(line)
        if event is None:
            if line.strip() and len(build_output) < 200:
                build_output.append(line)  # compiler errors arrive on stderr, not as events
            continue
        seen = True
        pkg, test, action = event.get("Package", ""), event.get("Test", ""), event.get("Action", "")
        if action in ("output", "build-output"):
            outputs.setdefault((pkg, test) if action == "output" else ("", "build"), []).append(event.get("Output", ""))
        elif action in ACTIONS and test:
            results[(pkg, test)] = (ACTIONS[action], float(event.get("Elapsed") or 0))
        elif action == "fail" and not test:
            failed_packages[pkg] = float(event.get("Elapsed") or 0)
    if not seen:
        return None
    parsed = Parsed(structured=True)
    for (pkg, test), (outcome, elapsed) in results.items():
        out = "".join(outputs.get((pkg, test), []))
        parsed.tests.append(_case(pkg, test, outcome, elapsed, out))
    tested = {pkg for pkg, _ in results}
    stray = "\n".join(build_output)
    for pkg in (p for p in failed_packages if p not in tested):
        out = "".join(outputs.get(("", "build"), [])) + "".join(outputs.get((pkg, ""), []))
        out, stray = (out + "\n" + stray).strip(), ""  # stderr text goes with the first broken package
        parsed.collection_errors.append(f"{pkg}: {clip(out or 'package failed')}")
    if stray and not parsed.tests:
        parsed.collection_errors.append(clip(stray))
    return parsed


def _event(line: str) -> dict | None:
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        return None
    return event if isinstance(event, dict) else None


def _case(pkg: str, test: str, outcome: str, elapsed: float, out: str) -> TestCase:
    lines = [ln for ln in out.splitlines() if not ln.startswith(("=== RUN", "=== PAUSE", "=== CONT"))]
    detail = "\n".join(ln for ln in lines if not ln.strip().startswith(("--- PASS", "--- FAIL", "--- SKIP")))
    message = first_line(detail) if outcome == "failed" else ""
    return TestCase(
        id=f"{pkg}::{test}",
        outcome=outcome,
        duration=elapsed,
        message=message,
        location=message.split(": ", 1)[0] if ".go:" in message else "",
        output=clip(detail.strip()) if outcome == "failed" else "",
    )

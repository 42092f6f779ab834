"""Running a project's tests inside the sandbox: `TestRunner`.

One `run()` is: build the command with reporting options (invocation.py), run it in
the sandbox under a time limit, parse the machine-readable report (parsers/), and
re-run just the failing tests once: a failure that passes then is marked flaky.
"""

from __future__ import annotations

import itertools
import time
import uuid
from pathlib import Path

from codeagent.sandbox.base import CommandResult, Sandbox
from codeagent.testing.detect import TestCommand
from codeagent.testing.invocation import SELECTABLE, Invocation, build_invocation
from codeagent.testing.parsers import Parsed
from codeagent.testing.parsers.cargo import parse_cargo
from codeagent.testing.parsers.generic import sniff
from codeagent.testing.parsers.gotest import parse_go_json
from codeagent.testing.parsers.jest import parse_jest_json
from codeagent.testing.parsers.junit import parse_junit
from codeagent.testing.parsers.unittest_json import parse_unittest_json
from codeagent.testing.report import TestReport

MAX_RERUN = 25  # more failures than this are not re-run one by one for flakiness


class TestRunner:
    """Runs `command` in `sandbox`; every run returns a `TestReport` (never raises on failures)."""

    __test__ = False

    def __init__(self, sandbox: Sandbox, command: TestCommand, *, timeout: float = 900.0,
                 max_rerun: int = MAX_RERUN):
        self.sandbox = sandbox
        self.command = command
        self.timeout = timeout
        self.max_rerun = max_rerun
        self.workdir = Path(sandbox.scratch) / f"codeagent-tests-{uuid.uuid4().hex[:8]}"
        self._counter = itertools.count(1)
        self.baseline_report: TestReport | None = None

    @property
    def supports_selection(self) -> bool:
        return self.command.runner in SELECTABLE

    def baseline(self) -> TestReport:
        """The full suite before any edit; kept as `baseline_report` for later diffs."""
        self.baseline_report = self.run()
        return self.baseline_report

    def run(self, selection: list[str] | None = None, *, rerun_failures: bool = True) -> TestReport:
        """Run the suite (or only `selection`, where the runner can select) and parse it."""
        report = self._run_once(selection)
        if rerun_failures and self.supports_selection and not report.timed_out:
            broken = {e.split(":", 1)[0] for e in report.collection_errors}
            failing = [tid for tid in report.failed if tid not in broken]
            if failing and len(failing) <= self.max_rerun:
                self._mark_flaky(report, failing)
        return report

    def _run_once(self, selection: list[str] | None) -> TestReport:
        self.workdir.mkdir(parents=True, exist_ok=True)
        tag = f"run-{next(self._counter)}"
        inv = build_invocation(self.command, self.sandbox.root, self.workdir, tag, selection)
        if inv.artifact is not None and inv.artifact.exists():
            inv.artifact.unlink()
        started = time.monotonic()
        result = self.sandbox.run(inv.cmd, cwd=self.sandbox.root, timeout=self.timeout, env=inv.env)
        parsed = self._parse(inv, result)
        return TestReport(
            runner=self.command.runner,
            command=inv.cmd,
            exit_code=result.exit_code,
            duration=result.duration or (time.monotonic() - started),
            tests=parsed.tests,
            collection_errors=parsed.collection_errors,
            timed_out=result.timed_out,
            raw_output=result.output,
            raw_output_size=len(result.output) + result.dropped_bytes,
            structured=parsed.structured,
            selection=list(selection) if selection and inv.selected else None,
            root=str(self.sandbox.root),
        )

    def _parse(self, inv: Invocation, result: CommandResult) -> Parsed:
        runner, root = self.command.runner, self.sandbox.root
        parsed: Parsed | None = None
        if runner == "pytest" and inv.artifact:
            parsed = parse_junit(inv.artifact, style="pytest")
        elif runner == "node" and inv.artifact:
            parsed = parse_junit(inv.artifact, style="node")
        elif runner == "unittest" and inv.artifact:
            parsed = parse_unittest_json(inv.artifact)
        elif runner in ("jest", "vitest") and inv.artifact:
            parsed = parse_jest_json(inv.artifact, root)
        elif runner == "go":
            parsed = parse_go_json(result.output)
        elif runner == "cargo":
            parsed = parse_cargo(result.output)
            if not parsed.tests and not parsed.collection_errors:
                parsed = None
        if parsed is not None:
            return parsed
        parsed = sniff(result.output, result.exit_code, self.command.cmd)
        if inv.artifact is not None and not result.timed_out and result.exit_code != 0:
            tail = "\n".join(result.output.rstrip().splitlines()[-40:])
            parsed.collection_errors.append(
                f"the test command failed before reporting any test (exit {result.exit_code}):\n{tail}")
            parsed.tests = [t for t in parsed.tests if not t.id.startswith("[")]
        return parsed

    def _mark_flaky(self, report: TestReport, failing: list[str]) -> None:
        """Re-run `failing` once; those that pass now keep outcome passed, flagged flaky."""
        again = self._run_once(failing)
        report.duration += again.duration
        for test_id in failing:
            retry = again.case(test_id)
            case = report.case(test_id)
            if retry is not None and case is not None and retry.outcome == "passed":
                case.outcome, case.flaky = "passed", True
                case.message = f"flaky: failed, then passed on re-run ({case.message})"

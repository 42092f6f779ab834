"""The loop's view of the project's tests: the baseline taken before any edit, each
later run diffed against it, and the success criterion: no regressions, the targeted
tests pass, and no new test fails."""

from __future__ import annotations

from dataclasses import dataclass

from codeagent.testing import TestDiff, TestReport, TestRunner, diff_reports, digest

@dataclass
class TestOutcome:
    report: TestReport
    diff: TestDiff
    text: str
    ok: bool
    improved: bool


class TestGate:
    __test__ = False  # not a pytest class
    def __init__(self, runner: TestRunner | None, baseline: TestReport | None, targets: list[str],
                 *, digest_chars: int = 4000):
        self.runner = runner
        self.baseline = baseline
        self.targets = targets
        self.digest_chars = digest_chars
        self.best_failures = len(baseline.failed) if baseline else 0
        self.last: TestOutcome | None = None

    @property
    def available(self) -> bool:
        return self.runner is not None

    def run(self, selection: list[str] | None = None) -> "TestOutcome":
        if self.runner is None:
            raise RuntimeError("no test command")  # callers check `available` first
        report = self.runner.run(selection)
        diff = diff_reports(self.baseline, report)
        full = selection is None
        ok = diff.ok(self.targets)  # no regressions, no failing new test, the targets pass
        failures = len(report.failed)
        improved = full and not diff.regressions and failures < self.best_failures
        if full and not diff.regressions:
            self.best_failures = min(self.best_failures, failures)
        text = self._describe(report, diff, ok, full)
        outcome = TestOutcome(report, diff, text, ok, improved)
        if full:
            self.last = outcome
        return outcome

    def _describe(self, report: TestReport, diff: TestDiff, ok: bool, full: bool) -> str:
        counts = report.summary()
        shown = ("passed", "failed", "error", "skipped", "flaky", "collection_errors")
        head = ", ".join(f"{counts[k]} {k}" for k in shown if counts.get(k))
        lines = [f"tests {'(selection) ' if not full else ''}: {head or 'no tests ran'}"]
        if diff.regressions:
            lines.append(f"REGRESSIONS (passed before your change): {', '.join(diff.regressions[:20])}")
        if diff.fixed:
            lines.append(f"fixed: {', '.join(diff.fixed[:20])}")
        if diff.still_failing:
            lines.append(f"failing before you started too: {', '.join(diff.still_failing[:20])}")
        if not full and not report.tests:
            lines.append(f"no test matched the selection {', '.join(report.selection or [])}; "
                         "run_tests without a selection lists what exists")
        missing = [t for t in self.targets if t not in report.passed]
        if missing and full:
            lines.append(f"targets still failing: {', '.join(missing[:20])}")
        lines.append("status: OK" if ok else "status: NOT OK")
        if not report.ok:
            lines.append(digest(report, diff, max_chars=self.digest_chars))
        return "\n".join(lines)

    def status_line(self) -> str:
        if self.runner is None:
            return "no test command"
        if self.last is None:
            base = self.baseline.summary() if self.baseline else {}
            return f"baseline: {base.get('failed', 0)} failing of {base.get('total', 0)}"
        s = self.last.report.summary()
        return f"{s.get('passed', 0)} passed, {s.get('failed', 0)} failed; regressions: {len(self.last.diff.regressions)}"

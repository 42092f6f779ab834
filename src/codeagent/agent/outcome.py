"""The outcome contract, decided in one place: `judge`.

A run is `done` only when no test that the task concerns still fails (see `concern`):
  - no regression, no failing new test, no new collection error, the run completed;
  - no concerned test fails (or is gone) that failed before the run.
Tests that still fail and that the task does not concern are listed, never hidden.

Reasons say what happened:
  tests_pass       the final full run passed completely
  task_tests_pass  every concerned test passes; unrelated tests still fail (listed)
  no_changes       nothing was changed and no concerned test fails
  no_tests         there is no test command to check against
  tests_failing    (not done) a regression, a failing new test, or a concerned test fails
"""

from __future__ import annotations

from dataclasses import dataclass, field

from codeagent.agent.concern import Concern
from codeagent.testing import TestDiff, TestReport
from codeagent.testing.report import FAILING


@dataclass
class Verdict:
    done: bool
    reason: str
    failing: list[str] = field(default_factory=list)  # concerned tests that still fail, or regressions
    unrelated_failing: list[str] = field(default_factory=list)
    why: dict[str, str] = field(default_factory=dict)  # failing test -> why the task concerns it
    kind: str = "verdict"

    def explain(self) -> str:
        if self.done:
            extra = (f"; {len(self.unrelated_failing)} test(s) the task does not concern still fail: "
                     f"{', '.join(self.unrelated_failing[:10])}") if self.unrelated_failing else ""
            return f"done ({self.reason}){extra}"
        lines = [f"not done: {len(self.failing)} test(s) the task concerns still fail:"]
        lines += [f"  {t}  ({self.why.get(t, 'regression or new failing test')})" for t in self.failing[:20]]
        return "\n".join(lines)


def judge(concern: Concern, baseline: TestReport | None, report: TestReport | None, diff: TestDiff | None,
          changes: str) -> Verdict:
    """The verdict on a tree whose last full test run is `report` (diffed as `diff`)
    and whose change against the start is the patch text `changes`."""
    if report is None or diff is None:
        return Verdict(True, "no_tests") if baseline is None else Verdict(False, "tests_not_run")
    concern.note_diff(changes)
    touched = changed_files(changes)
    blocking = diff.regressions + diff.new_failing + diff.new_collection_errors
    if diff.timed_out or diff.unexplained_failure:
        blocking.append("(the test run " + ("timed out)" if diff.timed_out else "failed without naming a test)"))
    now = {t.id: t.outcome for t in report.tests}
    before_failing = [t.id for t in baseline.tests if t.outcome in FAILING] if baseline else []
    still = [t for t in before_failing if not _passes(t, now.get(t), touched)]  # failing, gone, or skipped by the change
    why = {t: w for t in still if (w := concern.why(t))}
    failing = blocking + [t for t in still if t in why]
    unrelated = [t for t in still if t not in why and now.get(t) in FAILING]
    if failing:
        return Verdict(False, "tests_failing", failing, unrelated, why)
    if not changes.strip():
        return Verdict(True, "no_changes", [], unrelated)
    return Verdict(True, "task_tests_pass" if unrelated or report.failed else "tests_pass", [], unrelated)


def _passes(test_id: str, outcome: str | None, touched: set[str]) -> bool:
    """Passed; or skipped by the project itself (a test that skips once the code is right),
    but not when the change touched the test's file (a skip added to hide a failure)."""
    if outcome == "passed":
        return True
    return outcome == "skipped" and _test_file(test_id) not in touched


def _test_file(test_id: str) -> str:
    return test_id.split("::", 1)[0]


def changed_files(diff: str) -> set[str]:
    """Paths (new side) a unified diff changes."""
    return {line[6:].strip() for line in diff.splitlines() if line.startswith("+++ b/")}

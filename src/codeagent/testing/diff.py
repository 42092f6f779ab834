"""Comparing a test run with the baseline taken before any edit: `diff_reports`.

Every failing test lands in exactly one bucket:
  regressions      passed (or skipped) in the baseline, fails now
  new_failing      absent from the baseline (a new test), fails now
  still_failing    failed in the baseline and still fails (a pre-existing failure)
and the other lists say what changed for the better or was lost:
  fixed            failed in the baseline, passes now
  pre_existing     every test that failed in the baseline (fixed + still failing + not run)
  new_passing      absent from the baseline, passes now
  flaky            failed, then passed on an immediate re-run (never a regression)
  removed          in the baseline, missing from a full run now (deleted, or no longer collected)
Without a baseline every failure is a regression. A partial run (a selection) only
speaks for the tests it ran.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from codeagent.testing.report import FAILING, TestReport


@dataclass
class TestDiff:
    fixed: list[str] = field(default_factory=list)
    still_failing: list[str] = field(default_factory=list)
    regressions: list[str] = field(default_factory=list)
    pre_existing: list[str] = field(default_factory=list)
    new_passing: list[str] = field(default_factory=list)
    new_failing: list[str] = field(default_factory=list)
    flaky: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    new_collection_errors: list[str] = field(default_factory=list)
    has_baseline: bool = True
    timed_out: bool = False
    unexplained_failure: bool = False  # non-zero exit with no failing test named
    outcomes: dict[str, str] = field(default_factory=dict, repr=False)  # current id -> outcome
    kind: str = "test_diff"

    __test__ = False

    def ok(self, targets: list[str] | None = None) -> bool:
        """No regressions, no failing new tests, the run completed, and every target passes."""
        if self.regressions or self.new_failing or self.new_collection_errors:
            return False
        if self.timed_out or self.unexplained_failure:
            return False
        return all(self.target_passes(t) for t in targets or [])

    def target_passes(self, target: str) -> bool:
        """A target is a test id or a prefix of ids (file, class, module); all of its tests
        pass or skip themselves (the outcome contract refuses skips the change added)."""
        matched = [o for tid, o in self.outcomes.items() if _matches(tid, target)]
        return bool(matched) and all(o in ("passed", "skipped") for o in matched)

    def summary(self) -> dict[str, int]:
        names = ("fixed", "still_failing", "regressions", "new_failing", "new_passing", "flaky", "removed")
        return {name: len(getattr(self, name)) for name in names}

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("outcomes")
        return data


def _matches(test_id: str, target: str) -> bool:
    if test_id == target:
        return True
    return any(test_id.startswith(target + sep) for sep in ("::", ".", "/", " > "))


def diff_reports(baseline: TestReport | None, current: TestReport) -> TestDiff:
    """Classify every test of `current` against `baseline` (see the module docstring)."""
    now = {t.id: t for t in current.tests}
    result = TestDiff(
        has_baseline=baseline is not None,
        timed_out=current.timed_out,
        flaky=current.flaky,
        outcomes={tid: t.outcome for tid, t in now.items()},
    )
    result.unexplained_failure = (
        not current.timed_out and current.exit_code not in (0, None)
        and not current.failed and not current.flaky and not current.collection_errors
    )
    if baseline is None:
        result.regressions = current.failed
        result.new_collection_errors = list(current.collection_errors)
        return result
    before = {t.id: t for t in baseline.tests}
    result.pre_existing = [tid for tid, t in before.items() if t.outcome in FAILING]
    for tid, test in now.items():
        old = before.get(tid)
        if test.outcome in FAILING:
            if old is None:
                result.new_failing.append(tid)
            elif old.outcome in FAILING:
                result.still_failing.append(tid)
            else:
                result.regressions.append(tid)
        elif test.outcome == "passed":
            if old is None:
                result.new_passing.append(tid)
            elif old.outcome in FAILING:
                result.fixed.append(tid)
    if current.selection is None and not current.timed_out and not _crashed(current):
        result.removed = [tid for tid in before if tid not in now]
    seen = {_first(e) for e in baseline.collection_errors}
    result.new_collection_errors = [e for e in current.collection_errors if _first(e) not in seen
                                    and not _is_test_error(e, now)]
    return result


def _crashed(report: TestReport) -> bool:
    return not report.tests and report.exit_code not in (0, None)


def _first(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _is_test_error(error: str, now: dict) -> bool:
    """Collection errors that are also test cases (pytest, unittest) are diffed as tests."""
    name = error.split(":", 1)[0]
    return name in now

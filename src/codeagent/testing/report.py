"""The data a test run produces: `TestCase` per test and one `TestReport` per run.

Both are plain dataclasses with a `kind` tag; `TestReport.to_dict()` goes into the
session log unchanged and `TestReport.from_dict()` reads it back for later diffs.
A test that failed and then passed on an immediate re-run keeps outcome "passed"
with `flaky=True` and its first failure message, so it never counts as a failure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

OUTCOMES = ("passed", "failed", "error", "skipped")
FAILING = ("failed", "error")
RAW_OUTPUT_TAIL = 20_000  # characters of the run's output kept in a report


@dataclass
class TestCase:
    id: str  # runner-native id that selects this test again (pytest node id, go Pkg/Test, ...)
    outcome: str  # passed | failed | error | skipped
    duration: float = 0.0
    message: str = ""  # assertion or error message (one paragraph)
    location: str = ""  # "path:line" of the test, when known
    output: str = ""  # failure details: traceback, captured stdout/stderr (bounded)
    flaky: bool = False  # failed first, passed on an immediate re-run
    kind: str = "test_case"

    __test__ = False  # not a pytest test class

    @property
    def failing(self) -> bool:
        return self.outcome in FAILING


@dataclass
class TestReport:
    runner: str  # pytest | unittest | jest | vitest | node | npm | go | cargo | make | custom
    command: str  # the command that ran (with codeagent's reporting options)
    exit_code: int | None
    duration: float = 0.0
    tests: list[TestCase] = field(default_factory=list)
    collection_errors: list[str] = field(default_factory=list)  # import/compile errors, one text each
    timed_out: bool = False
    raw_output: str = ""  # tail of the run's combined output, at most RAW_OUTPUT_TAIL chars
    raw_output_size: int = 0  # characters of output the run produced before trimming
    structured: bool = False  # tests came from a machine-readable report, not output sniffing
    selection: list[str] | None = None  # None: the full suite ran
    root: str = ""  # the workspace the tests ran in (frames under it are project frames)
    kind: str = "test_report"

    __test__ = False

    def __post_init__(self) -> None:
        if not self.raw_output_size:
            self.raw_output_size = len(self.raw_output)
        if len(self.raw_output) > RAW_OUTPUT_TAIL:
            self.raw_output = self.raw_output[-RAW_OUTPUT_TAIL:]

    @property
    def passed(self) -> list[str]:
        return [t.id for t in self.tests if t.outcome == "passed"]

    @property
    def failed(self) -> list[str]:
        """Ids of tests that failed or errored (flaky ones excluded)."""
        return [t.id for t in self.tests if t.failing]

    @property
    def skipped(self) -> list[str]:
        return [t.id for t in self.tests if t.outcome == "skipped"]

    @property
    def flaky(self) -> list[str]:
        return [t.id for t in self.tests if t.flaky]

    @property
    def ok(self) -> bool:
        """True when the run finished, nothing failed and nothing failed to load."""
        if self.timed_out or self.collection_errors or self.failed:
            return False
        if self.exit_code == 0:
            return True
        # a non-zero exit is forgiven only when every failure passed on re-run
        return bool(self.flaky) and self.structured

    def case(self, test_id: str) -> TestCase | None:
        for test in self.tests:
            if test.id == test_id:
                return test
        return None

    def summary(self) -> dict[str, Any]:
        counts = {outcome: 0 for outcome in OUTCOMES}
        for test in self.tests:
            counts[test.outcome] = counts.get(test.outcome, 0) + 1
        return {
            **counts,
            "total": len(self.tests),
            "flaky": len(self.flaky),
            "collection_errors": len(self.collection_errors),
            "timed_out": self.timed_out,
            "exit_code": self.exit_code,
            "duration": round(self.duration, 3),
            "ok": self.ok,
        }

    def summary_line(self) -> str:
        s = self.summary()
        parts = [f"{s['passed']} passed", f"{s['failed'] + s['error']} failed"]
        if s["skipped"]:
            parts.append(f"{s['skipped']} skipped")
        if s["flaky"]:
            parts.append(f"{s['flaky']} flaky")
        if s["collection_errors"]:
            parts.append(f"{s['collection_errors']} collection errors")
        text = ", ".join(parts)
        if self.timed_out:
            text += f" (timed out after {self.duration:.0f}s)"
        return text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestReport:
        names = {f.name for f in fields(cls)}
        case_names = {f.name for f in fields(TestCase)}
        values = {k: v for k, v in data.items() if k in names}
        values["tests"] = [
            TestCase(**{k: v for k, v in t.items() if k in case_names}) for t in data.get("tests", [])
        ]
        return cls(**values)

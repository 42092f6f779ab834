"""The checks a commit must pass, run in the sandbox on the staged snapshot.

    linters   each command in `[tool.codeagent.precommit] linters`; `{files}` in a
              command becomes the staged files that still exist (shell-quoted)
    tests     the project's tests for the affected code (`test_cmd`, else detected);
              a test that also fails at HEAD is reported but does not block

Every check gets what is left of the hook's time budget; one that runs out is
blocking and says so. Results are plain `CheckResult`s, never exceptions.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from codeagent.config import Settings

DETAIL_CHARS = 4000


@dataclass
class CheckResult:
    name: str  # "tests" or "lint: <command>"
    command: str
    status: str  # passed | failed | timed_out | skipped | error
    summary: str  # one line for people
    details: str = ""  # failure digest or the tail of the output
    duration: float = 0.0
    failed: list[str] = field(default_factory=list)  # test ids that block
    preexisting: list[str] = field(default_factory=list)  # test ids that fail at HEAD too
    kind: str = "check_result"

    @property
    def blocking(self) -> bool:
        return self.status in ("failed", "timed_out", "error")

    def to_dict(self) -> dict:
        return asdict(self)


class Deadline:
    """The hook's budget as a point in time."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def expired(self) -> bool:
        return self.remaining() <= 0.5


def tail(text: str, limit: int = DETAIL_CHARS) -> str:
    text = text.rstrip()
    return text if len(text) <= limit else "[...]\n" + text[-limit:]


def open_check_sandbox(settings: Settings, root: Path, checkout: Path | None = None):
    """The sandbox over `root`; its scratch dir sits beside `root` in the hook's scratch
    area, so it goes away with it. `checkout` (the user's) lends its ignored environments
    (a virtualenv, node_modules) to the checks."""
    from codeagent.sandbox import open_sandbox

    scratch = root.parent / f"sandbox-scratch-{root.name}"
    scratch.mkdir(exist_ok=True)
    return open_sandbox(settings.sandbox, root, allow_network=settings.allow_network,
                        timeout=settings.command_timeout, scratch=scratch, profile=settings.sandbox_profile,
                        checkout=checkout)


def run_linters(root: Path, settings: Settings, changed: list[str], deadline: Deadline,
                checkout: Path | None = None) -> list[CheckResult]:
    if not settings.precommit.linters:
        return []
    sandbox = open_check_sandbox(settings, root, checkout)
    present = [p for p in changed if (root / p).is_file()]
    results = []
    for command in settings.precommit.linters:
        name = f"lint: {command}"
        if "{files}" in command:
            if not present:
                results.append(CheckResult(name, command, "skipped", "no staged files to lint"))
                continue
            command = command.replace("{files}", shlex.join(present))
        if deadline.expired():
            results.append(_out_of_time(name, command, deadline))
            continue
        res = sandbox.run(command, cwd=root, timeout=deadline.remaining())
        if res.timed_out:
            status, summary = "timed_out", f"did not finish within the {deadline.seconds:.0f}s budget"
        elif res.exit_code == 0:
            status, summary = "passed", "ok"
        else:
            status, summary = "failed", f"exit code {res.exit_code}"
        details = "" if status == "passed" else tail(res.output)
        results.append(CheckResult(name, command, status, summary, details, res.duration))
    return results


def _out_of_time(name: str, command: str, deadline: Deadline) -> CheckResult:
    return CheckResult(name, command, "timed_out", f"not run: the {deadline.seconds:.0f}s budget was spent")


def run_tests(root: Path, settings: Settings, changed: list[str], deadline: Deadline,
              baseline_root: Callable[[], Path | None], checkout: Path | None = None) -> CheckResult | None:
    """Run the tests covering `changed` in `root`; None when the project has no tests.
    On failure, the failing tests are re-run on HEAD (`baseline_root()`) to tell a
    regression from a failure the commit did not cause."""
    from codeagent.testing import TestRunner, detect_test_command

    found = detect_test_command(root, settings.test_cmd)
    if found is None:
        return None
    if deadline.expired():
        return _out_of_time("tests", found.cmd, deadline)
    selection = select_tests(root, found, changed)
    if selection == []:
        return CheckResult("tests", found.cmd, "skipped", "no test imports the staged modules")
    runner = TestRunner(open_check_sandbox(settings, root, checkout), found, timeout=deadline.remaining())
    report = runner.run(selection=selection)
    scope = "affected tests" if selection else "all tests"
    if report.ok:
        return CheckResult("tests", found.cmd, "passed", f"{scope}: {report.summary_line()}",
                           duration=report.duration)
    if report.timed_out:
        return CheckResult("tests", found.cmd, "timed_out",
                           f"{scope} did not finish within the {deadline.seconds:.0f}s budget",
                           tail(report.raw_output), report.duration)
    failed = list(report.failed)
    preexisting = failing_at_head(settings, found, failed, deadline, baseline_root, checkout) if failed else []
    blocking = [t for t in failed if t not in preexisting]
    if failed and not blocking and not report.collection_errors:
        return CheckResult("tests", found.cmd, "passed",
                           f"{scope}: {len(preexisting)} failing test(s) already fail at HEAD",
                           duration=report.duration, preexisting=preexisting)
    return CheckResult("tests", found.cmd, "failed", f"{scope}: {report.summary_line()}",
                       failure_digest(report), report.duration, blocking, preexisting)


def select_tests(root: Path, command, changed: list[str]) -> list[str] | None:
    """The test files the change can affect (Python runners only); None means run them
    all; [] means the change is Python code that no test imports."""
    if command.runner not in ("pytest", "unittest"):
        return None
    from codeagent.testing import affected_tests

    if any(not (root / p).exists() for p in changed):
        return None  # a deleted module's importers cannot be traced: run everything
    selection = affected_tests(root, changed)
    if selection:
        return selection
    return [] if all(p.endswith(".py") for p in changed) else None


def failure_digest(report) -> str:
    from codeagent.testing import digest

    return digest(report, max_chars=DETAIL_CHARS)


def failing_at_head(settings: Settings, command, failed: list[str], deadline: Deadline,
                    baseline_root: Callable[[], Path | None], checkout: Path | None = None) -> list[str]:
    """Which of `failed` also fail on HEAD; [] when that cannot be told in time."""
    from codeagent.testing import TestRunner

    if deadline.expired():
        return []
    root = baseline_root()
    if root is None:
        return []
    runner = TestRunner(open_check_sandbox(settings, root, checkout), command, timeout=deadline.remaining())
    report = runner.run(selection=failed)
    if report.timed_out:
        return []
    at_head = set(report.failed)
    return [t for t in failed if t in at_head]

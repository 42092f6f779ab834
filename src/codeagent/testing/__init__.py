"""Test intelligence: detect a project's test command, run it in the sandbox, parse
the results into a `TestReport`, diff it against the baseline, and digest the
failures for the model. It reports; the agent loop decides what to do about it."""

from __future__ import annotations

from codeagent.testing.affected import affected_tests, first_selection
from codeagent.testing.detect import TestCommand, classify_command, detect_test_command
from codeagent.testing.diff import TestDiff, diff_reports
from codeagent.testing.digest import digest
from codeagent.testing.report import TestCase, TestReport
from codeagent.testing.runner import TestRunner

__all__ = [
    "TestCase", "TestCommand", "TestDiff", "TestReport", "TestRunner", "affected_tests",
    "classify_command", "detect_test_command", "diff_reports", "digest", "first_selection",
]

"""Test intelligence on real projects from PyPI sdists (fetched by
tests/data/fetch_sdists.py; skipped when absent, failed in CI): break a function and
check the report against the JUnit XML pytest itself writes; a pre-existing failure
is not a regression; a flaky test is detected."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from codeagent.sandbox import open_sandbox
from codeagent.testing import TestRunner, detect_test_command, diff_reports, digest

DATA = Path(__file__).parent / "data" / "sdists"
PROJECTS = {"toolz": "toolz-1.0.0", "more-itertools": "more-itertools-10.5.0"}

pytestmark = pytest.mark.slow


@pytest.fixture
def project(tmp_path):
    def _copy(name: str) -> Path:
        source = DATA / PROJECTS[name]
        if not source.is_dir():
            if os.environ.get("CI") == "true":
                pytest.fail(f"{source} is missing: .ci/run must run tests/data/fetch_sdists.py")
            pytest.skip(f"{source} is missing: run python tests/data/fetch_sdists.py")
        return Path(shutil.copytree(source, tmp_path / name))
    return _copy


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def break_frequencies(root: Path) -> None:
    replace(root / "toolz" / "itertoolz.py", "    return dict(d)\n", "    return dict((k, v + 1) for k, v in d.items())\n")


def junit_failures(root: Path, tmp_path: Path) -> set[tuple[str, str]]:
    """(classname, name) of every failing testcase in the JUnit XML plain pytest writes."""
    xml = tmp_path / f"independent-{root.name}.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}"],
                   cwd=root, capture_output=True, timeout=600)
    failing = set()
    for case in ET.parse(xml).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failing.add((case.get("classname"), case.get("name")))
    return failing


def as_junit(pytest_id: str) -> tuple[str, str]:
    """A pytest node id as JUnit's (classname, name)."""
    path, *inner = pytest_id.split("::")
    module = path[:-3].replace("/", ".")
    return ".".join([module, *inner[:-1]]), inner[-1]


def test_toolz_broken_function_report_matches_junit(project, tmp_path):
    root = project("toolz")
    command = detect_test_command(root)
    assert command.runner == "pytest"
    break_frequencies(root)
    box = open_sandbox("none", root, scratch=tmp_path / "scratch")
    report = TestRunner(box, command).run()
    expected = junit_failures(root, tmp_path)
    assert expected  # the break is visible to pytest itself
    assert {as_junit(tid) for tid in report.failed} == expected
    assert "toolz/tests/test_itertoolz.py::test_frequencies" in report.failed
    assert len(report.passed) > 150 and not report.collection_errors and not report.flaky
    text = digest(report)
    assert len(text) <= 4000 and "at toolz/tests/test_itertoolz.py:" in text
    assert "FAILED toolz/tests/test_recipes.py::test_countby" in text


def test_toolz_pre_existing_failure_regression_and_flaky(project, tmp_path):
    root = project("toolz")
    box = open_sandbox("none", root, scratch=tmp_path / "scratch")
    runner = TestRunner(box, detect_test_command(root))
    break_frequencies(root)  # broken before codeagent starts
    baseline = runner.baseline()
    assert "toolz/tests/test_itertoolz.py::test_frequencies" in baseline.failed
    replace(root / "toolz" / "functoolz.py", "def identity(x):\n", "def identity(x):\n    x = None\n")
    (root / "toolz" / "tests" / "test_flaky_marker.py").write_text(
        "import os\n\n"
        f"MARKER = {str(box.scratch / 'flaky')!r}\n\n"
        "def test_flaky():\n    if not os.path.exists(MARKER):\n"
        "        open(MARKER, 'w').close()\n        raise AssertionError('fails once')\n")
    current = runner.run()
    diff = diff_reports(baseline, current)
    assert set(diff.still_failing) == set(baseline.failed)  # pre-existing: not regressions
    assert not set(diff.regressions) & set(baseline.failed)
    assert diff.regressions and set(diff.regressions) == set(current.failed) - set(baseline.failed)
    assert "toolz/tests/test_functoolz.py::test_compose" in diff.regressions
    assert diff.flaky == ["toolz/tests/test_flaky_marker.py::test_flaky"]
    assert "toolz/tests/test_flaky_marker.py::test_flaky" not in diff.regressions + diff.new_failing
    assert not diff.ok()
    text = digest(current, diff)
    assert "[REGRESSION: passed before]" in text and "[failed before too]" in text
    assert text.index("[REGRESSION") < text.index("[failed before too]")


def test_more_itertools_unittest_report_matches_junit(project, tmp_path):
    root = project("more-itertools")
    command = detect_test_command(root)
    assert command.runner == "unittest" and "tox.ini" in command.reason
    replace(root / "more_itertools" / "more.py", "    return sum(compress(repeat(1), zip(iterable)))\n",
            "    return sum(compress(repeat(1), zip(iterable))) + 1\n")
    box = open_sandbox("none", root, scratch=tmp_path / "scratch")
    report = TestRunner(box, command).run()
    expected = {f"{cls}.{name}" for cls, name in junit_failures(root, tmp_path)}
    unit = {tid for tid in report.failed if tid.startswith("tests.")}
    doctests = {tid for tid in report.failed if not tid.startswith("tests.")}
    assert unit == expected and "tests.test_more.IlenTests.test_ilen" in unit
    assert "more_itertools.more.ilen" in doctests  # unittest also runs the doctests pytest skips
    assert len(report.passed) > 700 and report.structured

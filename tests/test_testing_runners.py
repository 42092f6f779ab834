"""Real test runs in real sandboxes (the unsandboxed backend, and bubblewrap where it
works): pytest, unittest, node's built-in runner, cargo and go where installed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from codeagent.errors import CodeAgentError
from codeagent.sandbox import open_sandbox
from codeagent.testing import (TestRunner, affected_tests, detect_test_command, diff_reports, digest,
                               first_selection)

from repo_helpers import git

IN_CI = os.environ.get("CI") == "true"


def _bwrap_ok() -> bool:
    if not shutil.which("bwrap"):
        return False
    try:
        box = open_sandbox("bwrap", Path.cwd())
        return box.run("true", timeout=30).exit_code == 0
    except (CodeAgentError, ImportError, OSError):
        return False


BACKENDS = ["none"] + (["bwrap"] if _bwrap_ok() or IN_CI else [])


@pytest.fixture(params=BACKENDS)
def sandbox_for(request, tmp_path):
    """Each backend in turn (for the main run of each runner)."""
    def _open(root: Path):
        return open_sandbox(request.param, root, scratch=tmp_path / f"scratch-{request.param}")
    return _open


@pytest.fixture
def process_sandbox(tmp_path):
    """The unsandboxed backend only (runner behaviour that does not depend on the backend)."""
    def _open(root: Path):
        return open_sandbox("none", root, scratch=tmp_path / "scratch")
    return _open


PYTEST_PROJECT = {
    "calc.py": "def add(a, b):\n    return a + b\n\ndef mul(a, b):\n    return a * b\n",
    "tests/test_calc.py": (
        "import pytest\nfrom calc import add, mul\n\n"
        "def test_add():\n    assert add(2, 2) == 4\n\n"
        "def test_mul():\n    print('mul says hi')\n    assert mul(2, 3) == 7\n\n"
        "class TestMore:\n    @pytest.mark.parametrize('n', [1, 2])\n"
        "    def test_param(self, n):\n        assert add(n, 0) == n\n\n"
        "@pytest.mark.skip(reason='later')\ndef test_skipped():\n    pass\n"
    ),
    "tests/test_broken.py": "import not_a_module\n\ndef test_never():\n    pass\n",
}


def flaky_test(marker: Path) -> str:
    """A test that fails the first time (leaving a marker) and passes on re-run."""
    return (
        "import os\n\n"
        f"MARKER = {str(marker)!r}\n\n"
        "def test_flaky():\n"
        "    if not os.path.exists(MARKER):\n"
        "        open(MARKER, 'w').close()\n"
        "        assert False, 'first run fails'\n"
    )


def test_pytest_run_parses_failures_collection_errors_and_skips(make_repo, sandbox_for):
    repo = make_repo(PYTEST_PROJECT)
    command = detect_test_command(repo)
    assert command.runner == "pytest"
    report = TestRunner(sandbox_for(repo), command, timeout=120).run()
    outcomes = {t.id: t.outcome for t in report.tests}
    assert outcomes == {
        "tests/test_broken.py": "error",
        "tests/test_calc.py::test_add": "passed",
        "tests/test_calc.py::test_mul": "failed",
        "tests/test_calc.py::TestMore::test_param[1]": "passed",
        "tests/test_calc.py::TestMore::test_param[2]": "passed",
        "tests/test_calc.py::test_skipped": "skipped",
    }
    assert report.structured and not report.ok and report.exit_code == 1
    assert len(report.collection_errors) == 1 and "not_a_module" in report.collection_errors[0]
    mul = report.case("tests/test_calc.py::test_mul")
    assert mul.message.startswith("assert 6 == 7") and "mul says hi" in mul.output
    text = digest(report)
    assert text.index("COLLECTION ERROR") < text.index("FAILED tests/test_calc.py::test_mul")
    assert "tests/test_calc.py:9 in test_mul" in text
    # reports land in the scratch dir: the workspace is untouched
    assert git(repo, "status", "--porcelain", "--ignored") == ""


def test_pytest_flaky_test_is_detected_not_a_regression(make_repo, process_sandbox, tmp_path):
    repo = make_repo({"tests/test_ok.py": "def test_ok():\n    pass\n"})
    box = process_sandbox(repo)
    runner = TestRunner(box, detect_test_command(repo))
    baseline = runner.baseline()
    assert baseline.ok and runner.baseline_report is baseline
    (repo / "tests" / "test_flaky.py").write_text(flaky_test(box.scratch / "flaky-marker"))
    report = runner.run()
    case = report.case("tests/test_flaky.py::test_flaky")
    assert case.flaky and case.outcome == "passed" and "first run fails" in case.message
    assert report.ok and report.exit_code == 1
    diff = diff_reports(baseline, report)
    assert diff.flaky == ["tests/test_flaky.py::test_flaky"] and diff.regressions == [] and diff.ok()


def test_pytest_without_rerun_reports_the_failure(make_repo, process_sandbox):
    repo = make_repo({"tests/test_ok.py": "def test_ok():\n    pass\n"})
    box = process_sandbox(repo)
    (repo / "tests" / "test_flaky.py").write_text(flaky_test(box.scratch / "marker2"))
    report = TestRunner(box, detect_test_command(repo)).run(rerun_failures=False)
    assert report.failed == ["tests/test_flaky.py::test_flaky"] and not report.ok


def test_custom_pytest_command_gets_structured_results_and_selection(make_repo, process_sandbox):
    repo = make_repo(PYTEST_PROJECT)
    command = detect_test_command(repo, "python -m pytest -x tests/test_calc.py")
    assert command.runner == "pytest"
    runner = TestRunner(process_sandbox(repo), command)
    report = runner.run()
    assert report.structured and "--junitxml=" in report.command
    assert report.failed == ["tests/test_calc.py::test_mul"]  # -x stopped after it
    selected = runner.run(["tests/test_calc.py::test_add", "tests/test_calc.py::TestMore"])
    assert selected.selection is not None and selected.ok
    assert sorted(selected.passed) == ["tests/test_calc.py::TestMore::test_param[1]",
                                       "tests/test_calc.py::TestMore::test_param[2]",
                                       "tests/test_calc.py::test_add"]


def test_timeout_is_reported_not_raised(make_repo, process_sandbox):
    repo = make_repo({"tests/test_slow.py": "import time\n\ndef test_slow():\n    print('started', flush=True)\n    time.sleep(60)\n"})
    report = TestRunner(process_sandbox(repo), detect_test_command(repo), timeout=3).run()
    assert report.timed_out and not report.ok and report.exit_code is None
    assert "timed out" in digest(report)
    assert not diff_reports(None, report).ok()


def test_missing_runner_is_a_collection_error(make_repo, process_sandbox):
    repo = make_repo({"tests/test_a.py": "def test_a():\n    pass\n"})
    command = detect_test_command(repo, "python -m no_such_test_runner_pkg")
    assert command.runner == "custom"
    report = TestRunner(process_sandbox(repo), command).run()
    assert not report.ok and report.failed == ["[python -m no_such_test_runner_pkg]"]
    pytest_missing_plugin = detect_test_command(repo, "python -m pytest -p no_such_plugin_xyz")
    report = TestRunner(process_sandbox(repo), pytest_missing_plugin).run()
    assert not report.ok and report.collection_errors
    assert "failed before reporting any test" in report.collection_errors[0]


UNITTEST_PROJECT = {
    "shapes.py": "def area(w, h):\n    return w * h\n",
    "tests/__init__.py": "",
    "tests/test_shapes.py": (
        "import unittest\nfrom shapes import area\n\n"
        "class AreaTest(unittest.TestCase):\n"
        "    def test_square(self):\n        self.assertEqual(area(2, 2), 4)\n\n"
        "    def test_wrong(self):\n        print('captured line')\n        self.assertEqual(area(2, 3), 5)\n\n"
        "    def test_sub(self):\n"
        "        for n in (1, 2, 3):\n            with self.subTest(n=n):\n                self.assertEqual(area(n, 1), 1)\n\n"
        "    @unittest.skip('later')\n    def test_skip(self):\n        pass\n"
    ),
    "tests/test_import.py": "import missing_dependency_xyz\n",
}


def test_unittest_run_parses_outcomes_subtests_and_import_errors(make_repo, sandbox_for):
    repo = make_repo(UNITTEST_PROJECT)
    command = detect_test_command(repo)
    assert command.runner == "unittest"
    report = TestRunner(sandbox_for(repo), command, timeout=120).run()
    outcomes = {t.id: t.outcome for t in report.tests}
    assert outcomes == {
        "tests.test_shapes.AreaTest.test_square": "passed",
        "tests.test_shapes.AreaTest.test_wrong": "failed",
        "tests.test_shapes.AreaTest.test_sub": "failed",
        "tests.test_shapes.AreaTest.test_skip": "skipped",
        "tests.test_import": "error",
    }
    assert report.structured and not report.ok
    assert report.case("tests.test_shapes.AreaTest.test_wrong").message == "AssertionError: 6 != 5"
    assert report.case("tests.test_shapes.AreaTest.test_sub").message.startswith("(n=2): AssertionError: 2 != 1")
    assert "missing_dependency_xyz" in report.collection_errors[0]
    assert "tests/test_shapes.py:10 in test_wrong" in digest(report)
    assert git(repo, "status", "--porcelain", "--ignored") == ""


def test_unittest_selection_and_flaky(make_repo, process_sandbox):
    repo = make_repo({k: v for k, v in UNITTEST_PROJECT.items() if k != "tests/test_import.py"})
    box = process_sandbox(repo)
    marker = box.scratch / "unittest-marker"
    (repo / "tests" / "test_flaky.py").write_text(
        "import os, unittest\n\nclass F(unittest.TestCase):\n    def test_once(self):\n"
        f"        if not os.path.exists({str(marker)!r}):\n            open({str(marker)!r}, 'w').close()\n"
        "            self.fail('first time')\n")
    runner = TestRunner(box, detect_test_command(repo))
    report = runner.run()
    assert report.flaky == ["tests.test_flaky.F.test_once"]
    assert "tests.test_flaky.F.test_once" not in report.failed
    only = runner.run(["tests.test_shapes.AreaTest.test_square"])
    assert only.passed == ["tests.test_shapes.AreaTest.test_square"] and only.ok



def test_unittest_tests_folder_that_is_not_a_package(make_repo, process_sandbox):
    repo = make_repo({
        "shapes.py": "def area(w, h):\n    return w * h\n",
        "tests/test_shapes.py": (
            "import unittest\nfrom shapes import area\n\nclass T(unittest.TestCase):\n"
            "    def test_ok(self):\n        self.assertEqual(area(1, 1), 1)\n"
            "    def test_bad(self):\n        self.assertEqual(area(1, 2), 3)\n"),
    })
    command = detect_test_command(repo)
    assert command.cmd.endswith("-m unittest discover -s tests")
    runner = TestRunner(process_sandbox(repo), command)
    report = runner.run()
    assert report.failed == ["test_shapes.T.test_bad"] and report.passed == ["test_shapes.T.test_ok"]
    again = runner.run(["test_shapes.T.test_ok"])
    assert again.ok and again.passed == ["test_shapes.T.test_ok"]

NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_node_builtin_runner(make_repo, sandbox_for):
    repo = make_repo({
        "package.json": '{"name": "demo", "version": "1.0.0"}',
        "test/sum.test.js": (
            "const test = require('node:test');\nconst assert = require('node:assert');\n"
            "test('adds', () => { assert.strictEqual(1 + 1, 3); });\n"
            "test('zero', () => { assert.strictEqual(0 + 0, 0); });\n"
            "test.describe('group', () => { test.it('inner', () => {}); });\n"
        ),
    })
    command = detect_test_command(repo)
    assert (command.runner, command.cmd) == ("node", "node --test")
    runner = TestRunner(sandbox_for(repo), command)
    report = runner.run()
    outcomes = {t.id: t.outcome for t in report.tests}
    assert outcomes == {"adds": "failed", "zero": "passed", "group > inner": "passed"}
    assert "strictly equal" in report.case("adds").message
    assert "test/sum.test.js:3" in digest(report)
    again = runner.run(["zero"])
    assert again.passed == ["zero"] and again.ok


def _cargo() -> str | None:
    found = shutil.which("cargo") or "/root/.cargo/bin/cargo"
    if not os.path.exists(found):
        return None
    probe = subprocess.run([found, "--version"], capture_output=True)
    return found if probe.returncode == 0 else None


CARGO = _cargo()


@pytest.mark.slow
@pytest.mark.skipif(CARGO is None, reason="cargo is not installed")
def test_cargo_runner(make_repo, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(CARGO).parent}:{os.environ['PATH']}")
    repo = make_repo({
        "Cargo.toml": '[package]\nname = "adder"\nversion = "0.1.0"\nedition = "2021"\n',
        "src/lib.rs": (
            "pub fn add(a: i32, b: i32) -> i32 { a + b }\n\n#[cfg(test)]\nmod tests {\n    use super::*;\n"
            "    #[test]\n    fn adds() { assert_eq!(add(1, 2), 4); }\n"
            "    #[test]\n    fn ok() { assert_eq!(add(1, 1), 2); }\n"
            "    #[test]\n    #[ignore]\n    fn later() {}\n}\n"
        ),
    })
    box = open_sandbox("none", repo, scratch=tmp_path / "scratch")
    runner = TestRunner(box, detect_test_command(repo), timeout=300)
    report = runner.run()
    assert {t.id: t.outcome for t in report.tests} == {"tests::adds": "failed", "tests::ok": "passed",
                                                      "tests::later": "skipped"}
    assert report.case("tests::adds").location == "src/lib.rs:7:17"
    assert "left: 3" in digest(report) and not report.collection_errors
    assert not (repo / "target").exists()  # builds go to the scratch dir
    (repo / "src" / "lib.rs").write_text("pub fn add(a: i32, b: i32) -> i32 { y }\n")
    broken = runner.run()
    assert not broken.ok and "cannot find value `y`" in broken.collection_errors[0]


@pytest.mark.skipif(shutil.which("go") is None, reason="go is not installed")
def test_go_runner(make_repo, tmp_path):
    repo = make_repo({
        "go.mod": "module example.com/m\n\ngo 1.20\n",
        "add.go": "package m\n\nfunc Add(a, b int) int { return a + b }\n",
        "add_test.go": (
            'package m\n\nimport "testing"\n\n'
            "func TestAdd(t *testing.T) { if Add(1, 2) != 4 { t.Fatalf(\"got %d\", Add(1, 2)) } }\n"
            "func TestOk(t *testing.T) {}\n"
        ),
    })
    box = open_sandbox("none", repo, scratch=tmp_path / "scratch")
    report = TestRunner(box, detect_test_command(repo), timeout=300).run()
    assert {t.id: t.outcome for t in report.tests} == {"example.com/m::TestAdd": "failed",
                                                      "example.com/m::TestOk": "passed"}


def test_affected_tests_follow_imports(make_repo):
    repo = make_repo({
        "src/pkg/__init__.py": "",
        "src/pkg/core.py": "def f():\n    return 1\n",
        "src/pkg/api.py": "from .core import f\n\ndef g():\n    return f()\n",
        "src/pkg/other.py": "X = 1\n",
        "tests/conftest.py": "",
        "tests/test_api.py": "from pkg.api import g\n",
        "tests/test_core.py": "import pkg.core\n",
        "tests/test_other.py": "from pkg import other\n",
        "tests/sub/test_deep.py": "import json\n",
    })
    assert affected_tests(repo, ["src/pkg/core.py"]) == ["tests/test_api.py", "tests/test_core.py"]
    assert affected_tests(repo, ["src/pkg/other.py"]) == ["tests/test_other.py"]
    assert affected_tests(repo, ["tests/sub/test_deep.py"]) == ["tests/sub/test_deep.py"]
    assert len(affected_tests(repo, ["tests/conftest.py"])) == 4
    assert affected_tests(repo, ["README.md"]) == []
    first = first_selection(repo, "pytest", ["tests/test_other.py::test_x"], ["src/pkg/core.py"])
    assert first == ["tests/test_other.py::test_x", "tests/test_api.py", "tests/test_core.py"]
    assert first_selection(repo, "go", ["m::TestA"], ["src/pkg/core.py"]) == ["m::TestA"]

"""Baseline diffs, the success criterion, report round trips and the bounded digest."""

from __future__ import annotations

import json

from codeagent.testing import TestCase, TestReport, diff_reports, digest


def report(outcomes: dict[str, str], **kw) -> TestReport:
    tests = [TestCase(tid, outcome, message=f"msg of {tid}" if outcome != "passed" else "") for tid, outcome in outcomes.items()]
    failing = any(t.failing for t in tests)
    kw.setdefault("exit_code", 1 if failing else 0)
    return TestReport(runner="pytest", command="python -m pytest", tests=tests, structured=True, **kw)


def test_every_failure_lands_in_one_bucket():
    base = report({"a": "passed", "b": "failed", "c": "failed", "d": "passed", "e": "skipped", "gone": "passed"})
    now = report({"a": "failed", "b": "failed", "c": "passed", "d": "passed", "e": "failed", "new1": "passed", "new2": "error"})
    d = diff_reports(base, now)
    assert d.regressions == ["a", "e"]
    assert d.still_failing == ["b"] and d.fixed == ["c"]
    assert d.pre_existing == ["b", "c"]
    assert d.new_passing == ["new1"] and d.new_failing == ["new2"]
    assert d.removed == ["gone"]
    assert not d.ok()


def test_pre_existing_failure_is_not_a_regression_and_targets_decide():
    base = report({"t::a": "failed", "t::b": "passed", "u::c": "failed"})
    now = report({"t::a": "passed", "t::b": "passed", "u::c": "failed"})
    d = diff_reports(base, now)
    assert d.regressions == [] and d.still_failing == ["u::c"]
    assert d.ok() and d.ok(["t::a"]) and d.ok(["t"])
    assert not d.ok(["u::c"]) and not d.ok(["u"])
    assert not d.ok(["no::such::test"])  # a target that matched nothing did not pass


def test_flaky_test_is_not_a_regression():
    base = report({"a": "passed"})
    now = report({"a": "passed"}, exit_code=1)
    now.tests[0].flaky = True
    d = diff_reports(base, now)
    assert d.flaky == ["a"] and d.regressions == [] and d.ok(["a"])
    assert now.ok and now.summary()["flaky"] == 1


def test_no_baseline_means_every_failure_counts():
    now = report({"a": "failed", "b": "passed"})
    d = diff_reports(None, now)
    assert d.regressions == ["a"] and not d.has_baseline and not d.ok()


def test_selection_runs_do_not_remove_tests_and_timeouts_fail():
    base = report({"a": "passed", "b": "passed"})
    partial = report({"a": "passed"}, selection=["a"])
    assert diff_reports(base, partial).removed == []
    timed = report({}, exit_code=None, timed_out=True)
    d = diff_reports(base, timed)
    assert not d.ok() and d.removed == []


def test_unexplained_nonzero_exit_and_new_collection_errors_fail():
    base = report({"a": "passed"})
    crashed = report({"a": "passed"}, exit_code=3)
    assert diff_reports(base, crashed).unexplained_failure and not diff_reports(base, crashed).ok()
    broken = report({"a": "passed"}, collection_errors=["the test command failed before reporting any test"])
    assert diff_reports(base, broken).new_collection_errors and not diff_reports(base, broken).ok()
    assert not broken.ok


def test_report_round_trips_through_json():
    now = report({"a": "failed", "b": "passed"}, duration=1.5, raw_output="x" * 30_000)
    assert len(now.raw_output) == 20_000 and now.raw_output_size == 30_000
    back = TestReport.from_dict(json.loads(json.dumps(now.to_dict())))
    assert back == now and back.failed == ["a"] and back.summary()["failed"] == 1
    assert json.loads(json.dumps(diff_reports(None, now).to_dict()))["kind"] == "test_diff"


def test_digest_is_bounded_and_puts_regressions_first():
    base = report({f"t::old{i}": "failed" for i in range(30)} | {"t::reg": "passed"})
    now = report({f"t::old{i}": "failed" for i in range(30)} | {"t::reg": "failed"})
    for case in now.tests:
        case.output = "E   assert 1 == 2\n" + "noise line\n" * 200
    d = diff_reports(base, now)
    text = digest(now, d, max_chars=2000)
    assert len(text) <= 2000
    assert text.index("FAILED t::reg  [REGRESSION") < text.index("FAILED t::old0")
    assert "more failing:" in text and "1 regressions" in text


def test_digest_puts_collection_errors_first_and_folds_library_frames():
    detail = ("tests/test_a.py:11: in test_lib\n    helper('{')\n"
              "/usr/lib/python3.11/json/__init__.py:346: in loads\n    return x\n"
              "/usr/lib/python3.11/json/decoder.py:337: in decode\n    return y\n"
              "E   json.decoder.JSONDecodeError: Expecting value\n[captured out]\nprinted before failing")
    now = TestReport("pytest", "pytest", 1, tests=[
        TestCase("tests/test_a.py::test_lib", "failed", message="JSONDecodeError: Expecting value", output=detail),
        TestCase("tests/test_b.py", "error", message="ModuleNotFoundError: No module named 'x'"),
    ], collection_errors=["tests/test_b.py: tests/test_b.py:1: in <module>\n    import x\nE   ModuleNotFoundError: No module named 'x'"])
    text = digest(now)
    assert text.index("COLLECTION ERROR tests/test_b.py") < text.index("FAILED tests/test_a.py::test_lib")
    assert "tests/test_a.py:11 in test_lib: helper('{')" in text
    assert "(+2 library frames folded: json/__init__.py, json/decoder.py)" in text
    assert "printed before failing" in text
    assert "/usr/lib/python3.11/json/decoder.py:337" not in text


def test_digest_of_timeout_shows_last_output():
    now = TestReport("pytest", "pytest", None, duration=30, timed_out=True, raw_output="...\nstuck in test_slow\n")
    text = digest(now)
    assert "timed out" in text and "stuck in test_slow" in text
    assert "all passing" in digest(report({"a": "passed"}))

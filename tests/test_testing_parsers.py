"""Parsers for each runner's machine-readable output, on recorded samples of the
real formats (go and jest are not installed everywhere; their runs are tested where
they are, in test_testing_runners.py)."""

from __future__ import annotations

import json

from codeagent.testing.parsers.cargo import parse_cargo
from codeagent.testing.parsers.generic import sniff
from codeagent.testing.parsers.gotest import parse_go_json
from codeagent.testing.parsers.jest import parse_jest_json
from codeagent.testing.parsers.junit import parse_junit, pytest_id
from codeagent.testing.parsers.unittest_json import parse_unittest_json

GO_EVENTS = [
    {"Action": "start", "Package": "example.com/m"},
    {"Action": "run", "Package": "example.com/m", "Test": "TestAdd"},
    {"Action": "output", "Package": "example.com/m", "Test": "TestAdd", "Output": "=== RUN   TestAdd\n"},
    {"Action": "output", "Package": "example.com/m", "Test": "TestAdd", "Output": "    add_test.go:9: got 3, want 4\n"},
    {"Action": "output", "Package": "example.com/m", "Test": "TestAdd", "Output": "--- FAIL: TestAdd (0.00s)\n"},
    {"Action": "fail", "Package": "example.com/m", "Test": "TestAdd", "Elapsed": 0.01},
    {"Action": "run", "Package": "example.com/m", "Test": "TestOk"},
    {"Action": "pass", "Package": "example.com/m", "Test": "TestOk", "Elapsed": 0},
    {"Action": "skip", "Package": "example.com/m", "Test": "TestLater", "Elapsed": 0},
    {"Action": "fail", "Package": "example.com/m", "Elapsed": 0.02},
    {"ImportPath": "example.com/m/bad [example.com/m/bad.test]", "Action": "build-output",
     "Output": "bad/x.go:3:1: syntax error: unexpected }\n"},
    {"Action": "start", "Package": "example.com/m/bad"},
    {"Action": "output", "Package": "example.com/m/bad", "Output": "FAIL\texample.com/m/bad [build failed]\n"},
    {"Action": "fail", "Package": "example.com/m/bad", "Elapsed": 0},
]

CARGO_OUTPUT = """\
   Compiling adder v0.1.0 (/w)
    Finished `test` profile [unoptimized + debuginfo] target(s) in 0.50s
     Running unittests src/lib.rs (target/debug/deps/adder-1a2b)

running 3 tests
test tests::adds ... FAILED
test tests::ok ... ok
test tests::later ... ignored

failures:

---- tests::adds stdout ----

thread 'tests::adds' panicked at src/lib.rs:12:9:
assertion `left == right` failed
  left: 3
 right: 4
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace


failures:
    tests::adds

test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.00s
"""

CARGO_COMPILE_ERROR = """\
   Compiling adder v0.1.0 (/w)
error[E0425]: cannot find value `y` in this scope
 --> src/lib.rs:2:5
  |
2 |     y
  |     ^ not found in this scope

error: could not compile `adder` (lib) due to 1 previous error
"""


def test_go_json_events():
    text = "\n".join(json.dumps(e) for e in GO_EVENTS) + "\n# example.com/m/bad\nbad/y.go:7:2: undefined: z\n"
    parsed = parse_go_json(text)
    outcomes = {t.id: t.outcome for t in parsed.tests}
    assert outcomes == {"example.com/m::TestAdd": "failed", "example.com/m::TestOk": "passed",
                        "example.com/m::TestLater": "skipped"}
    add = next(t for t in parsed.tests if t.outcome == "failed")
    assert add.message == "add_test.go:9: got 3, want 4" and add.location == "add_test.go:9"
    assert len(parsed.collection_errors) == 1 and "syntax error" in parsed.collection_errors[0]
    assert parsed.collection_errors[0].startswith("example.com/m/bad: ") and "undefined: z" in parsed.collection_errors[0]
    assert parse_go_json("not json at all\n") is None


def test_cargo_output_and_compile_errors():
    parsed = parse_cargo(CARGO_OUTPUT)
    outcomes = {t.id: t.outcome for t in parsed.tests}
    assert outcomes == {"tests::adds": "failed", "tests::ok": "passed", "tests::later": "skipped"}
    adds = parsed.tests[0]
    assert adds.location == "src/lib.rs:12:9" and "left == right" in adds.message
    assert "left: 3" in adds.output and not parsed.collection_errors
    broken = parse_cargo(CARGO_COMPILE_ERROR)
    assert not broken.tests and len(broken.collection_errors) == 1
    assert "cannot find value `y`" in broken.collection_errors[0] and "src/lib.rs:2:5" in broken.collection_errors[0]


def test_jest_and_vitest_json(tmp_path):
    report = {
        "numFailedTests": 1,
        "testResults": [
            {"name": str(tmp_path / "src" / "sum.test.js"), "status": "failed", "message": "",
             "assertionResults": [
                 {"ancestorTitles": ["sum"], "title": "adds", "status": "failed", "duration": 5,
                  "failureMessages": ["Error: expect(received).toBe(expected)\n\nExpected: 4\nReceived: 3\n"
                                      "    at Object.<anonymous> (/w/src/sum.test.js:4:17)"],
                  "location": {"line": 3, "column": 3}},
                 {"ancestorTitles": ["sum"], "title": "zero", "status": "passed", "duration": 1},
                 {"ancestorTitles": [], "title": "later", "status": "todo"},
             ]},
            {"name": str(tmp_path / "src" / "broken.test.js"), "status": "failed",
             "message": "SyntaxError: Unexpected token (3:1)", "assertionResults": []},
        ],
    }
    path = tmp_path / "out.json"
    path.write_text(json.dumps(report))
    parsed = parse_jest_json(path, tmp_path)
    outcomes = {t.id: t.outcome for t in parsed.tests}
    assert outcomes == {"src/sum.test.js::sum > adds": "failed", "src/sum.test.js::sum > zero": "passed",
                        "src/sum.test.js::later": "skipped"}
    assert parsed.tests[0].location == "src/sum.test.js:3"
    assert parsed.tests[0].message.startswith("Error: expect(received)")
    assert parsed.collection_errors == ["src/broken.test.js: SyntaxError: Unexpected token (3:1)"]
    path.write_text("{truncated")
    assert parse_jest_json(path, tmp_path) is None


def test_junit_ids_and_missing_files(tmp_path):
    xml = tmp_path / "r.xml"
    xml.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.test_a.TestC" name="test_p[1-x]" file="tests/test_a.py" line="4" time="0.5">'
        '<failure message="assert 1 == 2">tests/test_a.py:9: in test_p\n    assert 1 == 2\nE   assert 1 == 2</failure>'
        '<system-out>--------- Captured Out ---------\nhello\n</system-out></testcase>'
        '<testcase classname="pkg.tests.test_b" name="test_q" file="pkg/tests/test_b.py" line="0" time="0.1">'
        '<skipped message="later"/></testcase>'
        '</testsuite></testsuites>')
    parsed = parse_junit(xml)
    first, second = parsed.tests
    assert (first.id, first.outcome, first.location) == ("tests/test_a.py::TestC::test_p[1-x]", "failed", "tests/test_a.py:5")
    assert "[captured out]\nhello" in first.output and first.duration == 0.5
    assert (second.id, second.outcome) == ("pkg/tests/test_b.py::test_q", "skipped")
    assert parse_junit(tmp_path / "missing.xml") is None
    (tmp_path / "bad.xml").write_text("<testsuites><testcase")
    assert parse_junit(tmp_path / "bad.xml") is None


def test_pytest_id_without_file_falls_back_to_classname():
    import xml.etree.ElementTree as ET

    assert pytest_id(ET.fromstring('<testcase classname="a.b" name="t"/>')) == "a.b::t"


def test_unittest_json_rejects_garbage(tmp_path):
    path = tmp_path / "u.json"
    path.write_text('{"not": "a list"}')
    assert parse_unittest_json(path) is None
    path.write_text(json.dumps([{"id": "tests.test_x", "outcome": "collection_error", "output": "ImportError: x"}]))
    parsed = parse_unittest_json(path)
    assert parsed.tests[0].outcome == "error" and parsed.collection_errors == ["tests.test_x: ImportError: x"]


def test_generic_sniffing_of_common_failure_lines():
    output = "\n".join([
        "FAILED tests/test_a.py::test_x - assert 1 == 2",
        "ERROR tests/test_b.py",
        "FAIL: test_y (pkg.tests.test_c.T.test_y)",
        "--- FAIL: TestZ (0.00s)",
        "not ok 3 - handles empty input",
        "test tests::w ... FAILED",
    ])
    parsed = sniff(output, 1, "make test")
    ids = {t.id: t.outcome for t in parsed.tests}
    assert ids == {"tests/test_a.py::test_x": "failed", "tests/test_b.py": "error",
                   "pkg.tests.test_c.T.test_y": "failed", "TestZ": "failed",
                   "handles empty input": "failed", "tests::w": "failed"}
    assert not parsed.structured


def test_generic_exit_code_only():
    parsed = sniff("something broke\n", 2, "./check.sh")
    assert [(t.id, t.outcome, t.message) for t in parsed.tests] == [("[./check.sh]", "failed", "exit code 2")]
    assert sniff("all good\n", 0, "./check.sh").tests == []

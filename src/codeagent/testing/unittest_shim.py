"""Stand-in for `python -m unittest` that also writes each test's outcome as JSON.

codeagent copies this file into the sandbox's scratch dir and runs it with the
project's own interpreter, so it imports nothing but the standard library:

    python codeagent_unittest.py OUT.json [--path DIR] [the arguments of python -m unittest]

`--path DIR` puts DIR on sys.path, as `discover -s DIR` would (for selected tests).

The JSON goes to OUT.json; everything else (arguments, output, exit code) behaves
as `python -m unittest` does.
"""

import json
import os
import sys
import time
import traceback
import unittest

RANK = {"passed": 0, "skipped": 0, "error": 2, "failed": 3}
FAILED_IMPORT = "unittest.loader._FailedTest."
records = {}


class Result(unittest.TextTestResult):
    def startTest(self, test):
        self.started = time.perf_counter()
        super().startTest(test)

    def record(self, test, outcome, err=None, reason="", note=""):
        test_id = test.id()
        if test_id.startswith(FAILED_IMPORT):
            test_id, outcome = test_id[len(FAILED_IMPORT):], "collection_error"
        elif type(test).__name__ == "_ErrorHolder":
            test_id = test.description
        old = records.get(test_id)
        if old and RANK.get(old["outcome"], 4) >= RANK.get(outcome, 4) and note:
            old["more"] = old.get("more", 0) + 1  # a later failing subtest of the same test
            return
        if old and RANK.get(old["outcome"], 4) > RANK.get(outcome, 4):
            return
        message, detail = reason, ""
        if err is not None:
            message = "".join(traceback.format_exception_only(err[0], err[1])).strip()
            detail = self._exc_info_to_string(err, test)
        if note:
            message = note + ": " + message
        started = getattr(self, "started", None) or time.perf_counter()
        records[test_id] = {"id": test_id, "outcome": outcome, "message": message[:2000],
                            "output": detail, "duration": time.perf_counter() - started}

    def addSuccess(self, test):
        super().addSuccess(test)
        self.record(test, "passed")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.record(test, "failed", err)

    def addError(self, test, err):
        super().addError(test, err)
        self.record(test, "error", err)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.record(test, "skipped", reason=reason)

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.record(test, "passed")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.record(test, "failed", reason="unexpected success")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            failed = issubclass(err[0], test.failureException)
            self.record(test, "failed" if failed else "error", err, note=subtest._subDescription())


class Runner(unittest.TextTestRunner):
    resultclass = Result


def main():
    sys.path[0] = os.getcwd()  # `python -m unittest` imports from the current dir
    out, args = sys.argv[1], sys.argv[2:]
    if args[:1] == ["--path"] and len(args) > 1:
        sys.path.insert(1, os.path.abspath(args[1]))
        args = args[2:]
    program = unittest.main(module=None, argv=["python -m unittest"] + args,
                            testRunner=Runner, exit=False)
    for row in records.values():
        if row.pop("more", 0):
            row["message"] += " (and more failing subtests)"
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(list(records.values()), fh)
    result = program.result
    sys.exit(0 if result.wasSuccessful() and result.testsRun else (5 if not result.testsRun else 1))


if __name__ == "__main__":
    main()
